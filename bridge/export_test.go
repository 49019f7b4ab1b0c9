package bridge

import (
	"context"
	"math"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
)

// MsgID is msgID, for the tests of package bridge_test.
func MsgID(origin string, m *pubsub.Message) string { return msgID(origin, m) }

// SendOverPack connects b to the server at url and sends ms as the
// exporter sends a pack that was filled before a reconnection to a
// server with a smaller max_payload: all in one pack, whatever its size.
// It returns what sendPack returned, once the server has what was sent.
func SendOverPack(b *Bridge, url string, ms []*pubsub.Message) (int, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	b.nc = nc
	b.gate.set(true)
	p := newPacker(b.prefix, "elsewhere")
	p.limit = math.MaxInt
	for k, m := range ms {
		if _, err := p.add(m, k); err != nil {
			return 0, err
		}
	}
	at := b.sendPack(context.Background(), p)
	return at, nc.Flush()
}
