// Package pubsub is a publish/subscribe bus for processes on one machine,
// with no broker: messages are files on tmpfs, and it speaks the on-disk
// protocol of the Python package formix-pubsub, so Go and Python processes
// publish to and subscribe from each other through one directory.
//
// # Model
//
// A home directory ($PUBSUB_HOME, else /dev/shm/pubsub) holds one
// directory per subscriber channel, named {topic}_{random}_{pid}, with a
// FIFO called queue. Publish writes the message once, hard-links it into
// every live channel whose topic matches, and writes its 8-byte id into
// each channel's FIFO. A subscriber reads ids from its FIFO, reads and
// deletes the matching files. Between Go processes a small message skips
// the file and goes whole into the FIFO.
//
// Topics are words of [A-Za-z0-9-] separated by '.'. A channel's topic may
// use '=' for exactly one word and '+' for one or more words:
// "logs.=.error" matches "logs.app.error", "logs.+" matches "logs.a" and
// "logs.a.b".
//
//	ch, err := pubsub.NewChannel("logs.+")
//	if err != nil { ... }
//	defer ch.Close()
//	n, err := pubsub.Publish("logs.app", []byte("started"), pubsub.Headers{"level": "info"})
//	msg, err := ch.Next(ctx)
//
// # Guarantees
//
//   - A message reaches every channel that matched and was live when it
//     was published, once, save those that refuse one of its headers
//     ([WithoutHeader]); Publish returns how many, and a
//     *[DeliveryError] names every matching channel it could not reach.
//   - A channel never sees a partial message file: files are written with
//     no name (O_TMPFILE), or under a staging name in HOME/tmp, and linked
//     into channels complete.
//   - Messages from one publishing process reach a Go channel in the
//     order they were published, also when its FIFO overflows: the ids
//     that did not fit are announced, oldest first, before anything newer,
//     however many wait (8 bytes each in the publisher).
//   - A message stays in the channel until taken: a file, or, between Go
//     processes, a message of up to 4 KiB (504 bytes on macOS and the
//     BSDs) whole in the channel's FIFO (see [WithFilesOnly]). A Go channel also takes files whose id never
//     reached its FIFO (a full FIFO, a publisher killed between link and
//     announcement).
//   - Nothing is made durable: tmpfs lives in memory, and a reboot empties
//     it. fsync would buy nothing there, and is not called.
//
// A plain channel delivers at most once: a message taken from it is gone,
// whatever its handler then does, and what a channel holds (files, and
// inline messages in its FIFO) is lost with it when it is closed or its
// process dies. [Home.PublishAsync] adds a window before that: what it
// queued is lost if the publishing process dies before [Home.Flush] or
// [Home.Close] returns.
//
// # Liveness
//
// A Go channel holds an flock on the file lock in its directory for its
// lifetime; the kernel releases it when the process dies, so a reused pid
// cannot keep a dead Go channel alive. Other channels are judged by their
// pid; a pid owned by another user (kill gives EPERM) is alive. Publishers
// remove dead channels they meet; [Home.Cleanup] removes them all.
//
// # Platforms
//
// Linux runs the bus as described. macOS and the BSDs run it through a
// portable backend: message files are staged under a name in HOME/tmp and
// then linked (there is no O_TMPFILE), and PIPE_BUF is 512 bytes, so only
// messages of up to 504 bytes, encoded, go inline; larger ones are files.
// The default home is /dev/shm/pubsub where /dev/shm is a directory, else
// pubsub in the system's temp directory. Where there are no FIFOs
// (Windows), the package compiles and [Open] returns [ErrUnsupported].
//
// # Linux notes
//
// A FIFO holds 64 KiB by default, that is 8,192 ids. When a Go channel's
// FIFO is full, publishers still count it as reached: the subscriber finds
// the files by listing its directory once its FIFO runs dry. A
// formix-pubsub channel cannot do that, so its full FIFO is reported as
// [ErrFIFOFull] in the *DeliveryError, and the file is taken back.
// /proc/sys/fs/pipe-max-size bounds what a FIFO can hold.
//
// # Descriptors
//
// A Go channel holds four descriptors while it is open. A publisher holds
// two for each channel it delivers to, for at most an eighth of its
// RLIMIT_NOFILE channels (between 4 and 4,096); beyond that, the channels
// it used least recently give theirs back and open them again when next
// used. Channels it never publishes to cost it nothing, however many the
// home holds. A publisher out of descriptors says so: Publish fails when
// it cannot list the home, and a *[DeliveryError] names each matching
// channel it could not open; it never reports a channel it could not look
// at as no channel.
//
// # Examples
//
// The examples in example_test.go show on pkg.go.dev, and run with
// go test -v -run Example.
package pubsub
