package pubsub

import (
	"time"

	"github.com/pubsub-go/pubsub/internal/engine"
)

// Runtime tells which implementation a channel looks like it came from.
type Runtime int

const (
	RuntimeUnknown Runtime = iota
	RuntimeGo              // holds a lock file
	RuntimePython          // a FIFO and messages only, as formix-pubsub makes
)

func (r Runtime) String() string {
	switch r {
	case RuntimeGo:
		return "go"
	case RuntimePython:
		return "python"
	}
	return "unknown"
}

// ChannelInfo describes one channel directory in a home.
type ChannelInfo struct {
	Name    string // directory name: {topic}_{random}_{pid}
	Dir     string
	Topic   string
	PID     int
	Live    bool
	Runtime Runtime
	Pending int   // message files waiting
	Bytes   int64 // their size
	// Queued is how many bytes wait in the FIFO of a live Go channel: ids,
	// and small messages sent whole by Go publishers, which are not files.
	// Zero for other channels, whose FIFO is not opened to look.
	Queued  int
	Created time.Time
}

func channelInfo(e engine.ChannelInfo) ChannelInfo {
	info := ChannelInfo{Name: e.Name, Dir: e.Dir, Topic: e.Topic, PID: e.PID, Live: e.Live,
		Pending: e.Pending, Bytes: e.Bytes, Queued: e.Queued, Created: e.Created}
	switch {
	case !e.HasFIFO:
		info.Runtime = RuntimeUnknown
	case e.Go:
		info.Runtime = RuntimeGo
	default:
		info.Runtime = RuntimePython
	}
	return info
}
