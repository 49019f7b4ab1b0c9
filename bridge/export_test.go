package bridge

import "github.com/pubsub-go/pubsub"

// MsgID is msgID, for the tests of package bridge_test.
func MsgID(origin string, m *pubsub.Message) string { return msgID(origin, m) }
