// Package bridge carries a pubsub bus beyond one machine over NATS
// (https://nats.io): local processes publish and subscribe on their home
// as before, and a bridge on each host hands messages to and from a NATS
// system.
//
// [New] makes a bridge for a home and a NATS URL; its options say what it
// carries ([WithExport], [WithImport]) and how ([WithDurable] for
// JetStream). [Bridge.Run] carries messages until its context is done.
//
// # Mapping
//
// A local message on topic T whose topic matches an export pattern is
// published to the NATS subject PREFIX.T, its content as the payload, and
// its id, timestamp, home of origin and headers in the NATS headers
// [HeaderID], [HeaderTimestamp], [HeaderOrigin] and [HeaderHeaders] (the
// headers as the JSON object a message file holds, so that every type
// survives). A NATS message on PREFIX.T whose T matches an import pattern
// is published into the home with [pubsub.Home.PublishMessage], keeping
// topic, id, timestamp and headers, plus the reserved header
// [OriginHeader]. Topic words are NATS tokens; in patterns '=' becomes '*'
// and '+' becomes '>'. NATS allows '>' only last, so a pattern with a '+'
// before other words ("a.+.b") subscribes to the broader "PREFIX.a.>" and
// the bridge filters with the pattern.
//
// With [WithPacking], an exporter instead sends what its channel holds at
// once on one topic as one NATS message on PREFIX.T ([HeaderPacked]):
// every bridge reads these packs, other NATS clients see a payload in
// pubsub's format, and the bus costs NATS a fraction of what it did.
//
// # No loops, no duplicates
//
// Each home has an origin ([Origin]). A bridge drops NATS messages that
// came from its own home, and never exports a message that carries
// [OriginHeader], that is one a bridge brought in (its export channels are
// made with [pubsub.WithoutHeader], so Go publishers, importing bridges
// among them, leave such messages out of them): a message crosses from
// the home it was published in to every other home, once, and no further.
// Export patterns may overlap: a message that matches several is exported
// once, as is one that matches several import patterns. One bridge per home
// and prefix may run: a second one is refused ([ErrBusy]), since it would
// export everything twice.
//
// # Delivery
//
// Core NATS (without [WithDurable]): at most once. While the connection is
// down, exported messages wait in the bridge's channels, or in the
// client's reconnect buffer, and go out on reconnection; but what other
// hosts' bridges publish while this one is cut off is not delivered to it.
//
// JetStream ([WithDurable]): a stream for the prefix and a durable
// consumer per host. An importing bridge claims its durable name for its
// home in the key-value bucket "pubsub-bridges", renews the claim while it
// runs (it lapses 30s after the last renewal) and gives it up when it
// stops; [Bridge.Run] refuses a name another home holds
// ([ErrDurableInUse]), and a stream that does not take the prefix's
// subjects ([ErrStreamSubjects]), before it is ready. The exporter publishes each message and waits for
// the stream's acknowledgement, retrying with the same Nats-Msg-Id (the
// stream drops a retry it already holds). What its channel holds at once,
// from 32 messages on, goes as one atomic batch (NATS 2.12, ADR-50; the
// bridge sets allow_atomic on a stream it creates): stored whole or not at
// all, in order, for one round trip; a stream without allow_atomic gets
// one message at a time. The importer acknowledges a
// message only after it is published into the home, and keeps the stream
// sequence of the last one in the home's tmp/ directory, so that a message
// delivered again after a restart is not published twice. Deliveries lost
// on the way come again only after the ack wait ([WithAckWait]), behind
// newer ones; so the importer resets its consumer to the ack floor when it
// starts and whenever the consumer's delivery sequence skips, and messages
// reach the home in stream order. A restart of a bridge or of the server loses
// nothing and repeats nothing, and a host that was down catches up on what
// the stream kept ([WithMaxAge]). A bridge killed (SIGKILL, a crash) in
// the instant between publishing a message into the home and recording its
// sequence publishes that one message again when it restarts. On the
// export side a killed bridge loses what its channels held and the stream
// had not acknowledged: the channels die with it, as any subscriber's do.
//
// In both modes the exporter never drops a message it took from its
// channel because NATS is unreachable: it holds it and retries with
// backoff. A message over the server's max_payload can never be sent: it is
// logged with the limit, counted in [Stats].TooLarge, and skipped. A
// message the home refuses is logged, counted in [Stats].Rejected, and
// dropped; a home with no matching channel drops a message, as a local
// publish does, and a delivery a channel cannot take is counted in
// [Stats].Missed. A stopped subscriber costs the importer a file per
// message (its channel spills, as with any publisher), not the other
// subscribers their messages: in core mode the importer queues what NATS
// delivers, up to what a NATS subscription holds (512Ki messages or
// 64 MiB), and what comes beyond it is dropped, logged with its count and
// counted in [Stats].SlowConsumer.
//
// # Threads
//
// The package leaves GOMAXPROCS and the garbage collector to its host
// program. The pubsub command runs a bridge that only exports on one
// thread, which cuts the CPU of the chain by a seventh, and with GOGC=400
// (docs/PERFORMANCE.md).
//
// # What the bridge does not do
//
// It does not relay: a message imported into a home is not exported again,
// so every host must reach the same NATS system (which may itself be a
// cluster or a super-cluster). It makes nothing durable on the local side:
// a message published while the bridge is not running has no channel to
// wait in, as with any subscriber. Python's NaN, infinities and nested
// header values cross as they were: PublishMessage writes back what a
// received message may hold.
package bridge
