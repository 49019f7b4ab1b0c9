package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrDurableInUse is wrapped by the error Run returns when another
// bridge, of another home, holds the durable consumer name it was given:
// two bridges on one durable consumer would split its messages between
// their homes.
var ErrDurableInUse = errors.New("the durable consumer is in use by another bridge")

// ErrStreamSubjects is wrapped by the error Run returns when the stream it
// is to use does not take the subjects of its prefix, as when two
// prefixes differ only in case ("cs", "CS") and so name the same default
// stream: its exports would have nowhere to go, and it would import
// nothing.
var ErrStreamSubjects = errors.New("the stream does not take the subjects of the prefix")

// The claims of durable consumer names live in a key-value bucket of the
// JetStream account: one key per stream and durable name, whose value
// names the home that holds it. A running importer renews its claim every
// claimRenew; a claim not renewed lapses after claimTTL (the bucket's
// max age), so that a host that died does not hold its name for ever.
const (
	claimBucket = "pubsub-bridges"
	claimTTL    = 30 * time.Second
	claimRenew  = claimTTL / 3
)

// claim is what the bucket holds for a durable name.
type claim struct {
	Origin  string `json:"origin"` // the home of the bridge holding it
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	Prefix  string `json:"prefix"`
	Renewed int64  `json:"renewed"` // Unix seconds
}

// durableClaim is this bridge's claim, held while it imports.
type durableClaim struct {
	kv  jetstream.KeyValue
	key string
	rev uint64
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// claimKey is the bucket key of durable on stream: a stream name may hold
// what a key may not, and then goes base64-encoded.
func claimKey(stream, durable string) string {
	if !plainKey.MatchString(stream) {
		stream = base64.RawURLEncoding.EncodeToString([]byte(stream))
	}
	return stream + "." + durable
}

func (b *Bridge) claimValue() []byte {
	host, _ := os.Hostname()
	v, _ := json.Marshal(claim{Origin: b.origin, Host: host, PID: os.Getpid(), Prefix: b.prefix, Renewed: time.Now().Unix()})
	return v
}

// claimDurable claims the bridge's durable name for its home. A claim of
// the same home is taken over (the bridge was killed and runs again); a
// live claim of another home is refused with ErrDurableInUse. Other
// errors may pass: the caller retries.
func (b *Bridge) claimDurable(ctx context.Context) (*durableClaim, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      claimBucket,
		Description: "pubsub bridge: which home holds each durable consumer name",
		TTL:         claimTTL,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", claimBucket, err)
	}
	c := &durableClaim{kv: kv, key: claimKey(b.stream, b.cfg.durable)}
	for range 3 {
		if c.rev, err = kv.Create(ctx, c.key, b.claimValue()); err == nil {
			return c, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, err
		}
		e, err := kv.Get(ctx, c.key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // lapsed meanwhile
		}
		if err != nil {
			return nil, err
		}
		var held claim
		_ = json.Unmarshal(e.Value(), &held)
		if held.Origin != b.origin {
			return nil, b.inUse(held)
		}
		if c.rev, err = kv.Update(ctx, c.key, b.claimValue(), e.Revision()); err == nil {
			return c, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("claim %s in bucket %s: it keeps changing", c.key, claimBucket)
}

func (b *Bridge) inUse(held claim) error {
	age := time.Since(time.Unix(held.Renewed, 0)).Round(time.Second)
	return fmt.Errorf("%w: stream %s, durable %s: held by the bridge of home %s on %s (pid %d, prefix %s), renewed %v ago; "+
		"each host needs its own --durable name (if that bridge is gone, its claim lapses %v after it last renewed it)",
		ErrDurableInUse, b.stream, b.cfg.durable, held.Origin, held.Host, held.PID, held.Prefix, max(age, 0), claimTTL)
}

// renewClaim renews c until ctx is done, then gives it up, so that the
// name can move to another home at once. A claim another home took
// meanwhile (this bridge was cut off from NATS longer than claimTTL) ends
// the bridge with ErrDurableInUse.
func (b *Bridge) renewClaim(ctx context.Context, c *durableClaim) {
	t := time.NewTicker(claimRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = c.kv.Delete(dctx, c.key, jetstream.LastRevision(c.rev))
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, claimRenew)
		rev, err := c.kv.Update(rctx, c.key, b.claimValue(), c.rev)
		cancel()
		if err == nil {
			c.rev = rev
			continue
		}
		if ctx.Err() != nil {
			continue
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			b.log.Warn("bridge: cannot renew the claim of the durable name; retrying", "durable", b.cfg.durable, "err", err)
			continue
		}
		// Not ours any more: lapsed, or taken.
		nc, err := b.claimDurable(ctx)
		if errors.Is(err, ErrDurableInUse) {
			b.fail(err)
			continue
		}
		if err != nil {
			b.log.Warn("bridge: cannot renew the claim of the durable name; retrying", "durable", b.cfg.durable, "err", err)
			continue
		}
		c.rev = nc.rev
	}
}
