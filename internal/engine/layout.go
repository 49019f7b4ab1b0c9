package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Every name the bus gives to something on disk, and the format of each
// small file it writes besides messages, is in this file. A home looks
// like this (formix-pubsub's layout, plus what Go adds: the lock file, the
// suffixes in tmp/):
//
//	HOME/
//	  tmp/                            staging: TmpDir
//	    .{pid}.{id}.part              a Go publisher's named staging file: stagingName
//	    {id}                          formix-pubsub's staging file
//	    {topic}_{random}_{pid}        a Go channel being built
//	    {channel}.closing             a channel its owner is removing: removingName
//	    {channel}.reclaim             a dead owner's channel being removed
//	    .probe.{pid}                  a throwaway link, made once: probeName
//	    bridge-{prefix}.lock          a NATS bridge's lock: BridgeLockPath
//	    bridge-{prefix}-{durable}.seq a JetStream importer's last sequence: BridgeSeqPath
//	  {topic}_{random}_{pid}/         a channel: channelName, ParseChannelName
//	    queue                         the FIFO of ids and inline frames: QueueName
//	    lock                          a Go channel's flock and its one line: LockName, LockLine
//	    {id}                          a pending message file: messageName, parseMessageName
//	    {id}.bad                      a message file that did not decode: badName
const (
	TmpDir    = "tmp"   // a home's staging directory
	QueueName = "queue" // a channel's FIFO
	LockName  = "lock"  // a Go channel's lock file

	closingSuffix = ".closing" // removed by its owner (Close, or garbage collected)
	reclaimSuffix = ".reclaim" // removed because its owner is dead
	partSuffix    = ".part"
	badSuffix     = ".bad"
)

// fixedEntries are the names every Go channel directory holds besides
// its messages: the FIFO and the lock file.
const fixedEntries = 2

// randomLen is the length of the random word in a channel's name.
const randomLen = 12

// maxChannelTopic keeps {topic}_{12}_{pid} within NAME_MAX (255), with
// room for a 7-digit pid and the longest suffix a removal adds.
const maxChannelTopic = 255 - len("_123456789012_1234567") - len(closingSuffix)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// channelName returns a new channel directory name for pattern, owned by
// this process: {topic}_{random}_{pid}, as formix-pubsub names them.
func channelName(pattern string) string {
	b := make([]byte, randomLen)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return pattern + "_" + string(b) + "_" + strconv.Itoa(os.Getpid())
}

// ParseChannelName splits HOME/{topic}_{random}_{pid} as formix-pubsub
// does (first and last of the '_'-separated parts). ok is false for names
// that are not channels.
func ParseChannelName(name string) (pattern string, pid int, ok bool) {
	first := strings.IndexByte(name, '_')
	last := strings.LastIndexByte(name, '_')
	if first <= 0 || first == last {
		return "", 0, false
	}
	pid, err := strconv.Atoi(name[last+1:])
	if err != nil || pid <= 0 || name[last+1] == '+' {
		return "", 0, false
	}
	return name[:first], pid, true
}

// messageName names the file of message id in a channel.
func messageName(id uint64) string { return strconv.FormatUint(id, 10) }

// parseMessageName returns the id a channel entry names, and false for
// any entry that is not a message file (leading zeros included: no
// publisher writes them, so such a name is not the id it spells).
func parseMessageName(name string) (uint64, bool) {
	id, err := strconv.ParseUint(name, 10, 64)
	return id, err == nil && strconv.FormatUint(id, 10) == name
}

// badName is where a message file that does not decode is set aside.
func badName(name string) string { return name + badSuffix }

// stagingName names a Go publisher's staging file in tmp/: .{pid}.{id}.part,
// so that Cleanup can tell when its publisher is gone.
func stagingName(id uint64) string {
	return "." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(id, 10) + partSuffix
}

// parseStagingName returns the pid in a name stagingName made.
func parseStagingName(name string) (pid int, ok bool) {
	if !strings.HasSuffix(name, partSuffix) {
		return 0, false
	}
	fields := strings.Split(name, ".")
	if len(fields) != 4 || fields[0] != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(fields[1])
	return pid, err == nil
}

// isFormixStaging reports whether a tmp/ entry is named as formix-pubsub
// names its staging files: the message id, in decimal.
func isFormixStaging(name string) bool {
	_, err := strconv.ParseUint(name, 10, 64)
	return err == nil
}

// removingName is what a channel directory is renamed to in tmp/ while it
// is removed, so that no publisher links into it meanwhile.
func removingName(channel string, ownerDead bool) string {
	if ownerDead {
		return channel + reclaimSuffix
	}
	return channel + closingSuffix
}

// isRemoving reports whether a tmp/ entry is a channel some process was
// removing: if it is still there, that process did not finish.
func isRemoving(name string) bool {
	return strings.HasSuffix(name, closingSuffix) || strings.HasSuffix(name, reclaimSuffix)
}

// probeName names the throwaway file linked once, to learn whether
// linkat(AT_EMPTY_PATH) works.
func probeName() string { return ".probe." + strconv.Itoa(os.Getpid()) }

// The lock file a Go channel keeps locked while its owner lives.
// formix-pubsub ignores it, and removes it with the directory. Its one
// line of words says what the channel's reader understands beyond the
// formix-pubsub protocol: "inline" means wire frames in its FIFO, and
// "without=NAME" that it takes no message with the header NAME.
const (
	lockWords = "pubsub-go 1 inline"
	lockMax   = 2048 // read at most this much of a lock file

	// MaxRefusedHeaders bounds the without= words of a lock file.
	MaxRefusedHeaders = 8
	// maxRefusedHeader bounds a without= name, and so the lock file.
	maxRefusedHeader = 128
)

// LockLine returns the text of a Go channel's lock file.
func LockLine(without []string) string {
	var b strings.Builder
	b.WriteString(lockWords)
	for _, name := range without {
		b.WriteString(" without=")
		b.WriteString(name)
	}
	b.WriteByte('\n')
	return b.String()
}

// ParseLock reads a lock file's text, which another process wrote and may
// be anything: whether the channel takes inline frames, and the headers
// of the messages it refuses.
func ParseLock(text []byte) (inline bool, without []string) {
	line, _, whole := bytes.Cut(text, []byte{'\n'})
	words := strings.Fields(string(line))
	if len(words) < 2 || words[0] != "pubsub-go" || words[1] != "1" {
		return false, nil // not a lock file this version wrote
	}
	for _, w := range words[2:] {
		name, ok := strings.CutPrefix(w, "without=")
		if ok && !whole {
			continue // no end of line: the read may have cut this name short
		}
		switch {
		case w == "inline":
			inline = true
		case ok && ValidRefusedHeader(name):
			without = append(without, name)
		}
	}
	return inline, without
}

// ValidRefusedHeader reports whether name can be written as a without=
// word: 1 to 128 printable ASCII characters, no spaces.
func ValidRefusedHeader(name string) bool {
	if name == "" || len(name) > maxRefusedHeader {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' {
			return false
		}
	}
	return true
}

// RefusedHeaderRule says what ValidRefusedHeader accepts, for errors.
const RefusedHeaderRule = "1 to 128 printable ASCII characters, no spaces"

// The files of a NATS bridge (package bridge), in tmp/ as well: the lock
// that lets one bridge run per home and prefix, naming its holder's pid,
// and the sequence file of a JetStream importer. Cleanup leaves both
// alone: neither is named like anything it removes.
//
//	HOME/tmp/bridge-{prefix}.lock
//	HOME/tmp/bridge-{prefix}-{durable}.seq

// BridgeLockPath is the path of the lock file of the bridges of prefix on
// the home in homeDir.
func BridgeLockPath(homeDir, prefix string) string {
	return filepath.Join(homeDir, TmpDir, "bridge-"+prefix+".lock")
}

// BridgeSeqPath is the path of the sequence file of the JetStream importer
// of prefix with consumer durable on the home in homeDir.
func BridgeSeqPath(homeDir, prefix, durable string) string {
	return filepath.Join(homeDir, TmpDir, "bridge-"+prefix+"-"+durable+".seq")
}

// Queues. A queue is a durable subscription shared by worker processes,
// kept in a directory of its own under HOME/queues, a name formix-pubsub
// passes over (it takes only names of three '_'-separated parts for
// channels):
//
//	HOME/queues/{name}/
//	  config                          how it was made: QueueLine, ParseQueueLine
//	  state                           shared counters and workers' slots, mapped by every process (queueState)
//	  notify                          FIFO: a record per message made ready (queueRecord)
//	  ready/{key}.{n}                 a message waiting; n deliveries so far
//	  claimed/{key}.{n}.{worker}.{deadline}   a message a worker holds until it acks
//	  delayed/{due}.{key}.{n}         a message given back with a delay
//	  dead/{key}.{n}                  a dead letter: delivered n times, never acked
//	  workers/{worker}/lock           a worker's flock, held while it lives
//	  workers/{worker}/notify         its own FIFO, for records handed to it (handoff.go)
//
// key is the time the message entered the queue (ns, 16 hex digits) and
// its id (16 hex digits), so that names sort in the order messages came;
// worker is {pid}-{random}; deadline and due are Unix ns in 16 hex digits.
const (
	QueuesDir    = "queues"
	queueConfig  = "config"
	queueStateF  = "state"
	queueNotify  = "notify"
	readyDir     = "ready"
	claimedDir   = "claimed"
	delayedDir   = "delayed"
	deadDir      = "dead"
	workersDir   = "workers"
	maxQueueName = 64
)

// queueKey orders the messages of a queue: when each came, then its id.
type queueKey struct {
	entered uint64 // Unix ns
	id      uint64
}

func (k queueKey) String() string {
	return string(appendHex16(appendHex16(make([]byte, 0, 32), k.entered), k.id))
}

// appendHex16 appends v as 16 lower-case hex digits: fmt's %016x without
// fmt, which cost a queue worker 7% of its CPU in names.
func appendHex16(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

func parseQueueKey(s string) (queueKey, bool) {
	if len(s) != 32 {
		return queueKey{}, false
	}
	a, err1 := strconv.ParseUint(s[:16], 16, 64)
	b, err2 := strconv.ParseUint(s[16:], 16, 64)
	return queueKey{a, b}, err1 == nil && err2 == nil && strings.ToLower(s) == s
}

// readyName names a ready message delivered n times so far.
func readyName(k queueKey, n int) string { return k.String() + "." + strconv.Itoa(n) }

// parseReadyName parses readyName's names, and dead letters' (the same).
func parseReadyName(name string) (queueKey, int, bool) {
	ks, ns, ok := strings.Cut(name, ".")
	if !ok {
		return queueKey{}, 0, false
	}
	k, ok := parseQueueKey(ks)
	n, err := strconv.Atoi(ns)
	return k, n, ok && err == nil && n >= 0 && strconv.Itoa(n) == ns
}

// claimedName names a message that worker holds until deadline; n counts
// this delivery.
func claimedName(k queueKey, n int, worker string, deadline time.Time) string {
	b := make([]byte, 0, 32+1+4+1+len(worker)+1+16)
	b = appendHex16(appendHex16(b, k.entered), k.id)
	b = strconv.AppendInt(append(b, '.'), int64(n), 10)
	b = append(append(append(b, '.'), worker...), '.')
	return string(appendHex16(b, uint64(deadline.UnixNano())))
}

func parseClaimedName(name string) (k queueKey, n int, worker string, deadline time.Time, ok bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 4 {
		return
	}
	k, n, ok = parseReadyName(parts[0] + "." + parts[1])
	d, err := strconv.ParseUint(parts[3], 16, 63)
	if !ok || err != nil || len(parts[3]) != 16 || !validWorkerID(parts[2]) || strings.ToLower(parts[3]) != parts[3] {
		return queueKey{}, 0, "", time.Time{}, false
	}
	return k, n, parts[2], time.Unix(0, int64(d)), true
}

// delayedName names a message to make ready again at due.
func delayedName(due time.Time, k queueKey, n int) string {
	return string(append(appendHex16(nil, uint64(due.UnixNano())), '.')) + readyName(k, n)
}

func parseDelayedName(name string) (due time.Time, k queueKey, n int, ok bool) {
	ds, rest, found := strings.Cut(name, ".")
	d, err := strconv.ParseUint(ds, 16, 63)
	if !found || err != nil || len(ds) != 16 || strings.ToLower(ds) != ds {
		return time.Time{}, queueKey{}, 0, false
	}
	k, n, ok = parseReadyName(rest)
	return time.Unix(0, int64(d)), k, n, ok
}

// newWorkerID names a worker of this process.
func newWorkerID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return strconv.Itoa(os.Getpid()) + "-" + string(b)
}

func validWorkerID(s string) bool {
	pid, rnd, ok := strings.Cut(s, "-")
	n, err := strconv.Atoi(pid)
	if !ok || err != nil || n <= 0 || len(rnd) != 8 {
		return false
	}
	for i := 0; i < len(rnd); i++ {
		if !strings.ContainsRune(alphabet, rune(rnd[i])) {
			return false
		}
	}
	return true
}

// ValidQueueName reports whether name can name a queue: 1 to 64 of
// [A-Za-z0-9-], which makes a directory name and a word of a topic.
func ValidQueueName(name string) bool {
	if name == "" || len(name) > maxQueueName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// QueueNameRule says what ValidQueueName accepts, for errors.
const QueueNameRule = "1 to 64 characters of [A-Za-z0-9-]"

// queueRecord is what the notify FIFO carries for a message made ready:
// its key and its deliveries so far, 24 bytes, written whole (under
// PIPE_BUF). Readers read whole records: every write and every read is a
// multiple of its size.
const queueRecordSize = 24

func appendQueueRecord(dst []byte, k queueKey, n int) []byte {
	dst = binary.BigEndian.AppendUint64(dst, k.entered)
	dst = binary.BigEndian.AppendUint64(dst, k.id)
	return binary.BigEndian.AppendUint64(dst, uint64(n))
}

func parseQueueRecord(b []byte) (queueKey, int) {
	return queueKey{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}, int(min(binary.BigEndian.Uint64(b[16:]), 1<<30))
}

// A queue's intake is a channel directory as formix-pubsub knows it, so
// that its publishers reach the queue: {pattern}_queue-{name}_{pid}, pid
// that of a live worker of the queue. Python reads only the first and last
// parts of a channel's name; the middle part, which no channel's random
// word can be (they hold no '-'), tells the Go side it is an intake. It
// holds the FIFO queue and the message files Python links in, which the
// workers move into ready/. queues/{name}/intake.lock serialises making,
// adopting and removing it.
const (
	intakeWord = "queue-"
	intakeLock = "intake.lock"
)

// intakeName names the intake of queue on pattern, owned by pid.
func intakeName(pattern, queue string, pid int) string {
	return pattern + "_" + intakeWord + queue + "_" + strconv.Itoa(pid)
}

// parseIntakeName returns the queue whose intake name is, if it is one.
func parseIntakeName(name string) (queue string, pid int, ok bool) {
	if _, pid, ok = ParseChannelName(name); !ok {
		return "", 0, false
	}
	middle := name[strings.IndexByte(name, '_')+1 : strings.LastIndexByte(name, '_')]
	queue, ok = strings.CutPrefix(middle, intakeWord)
	if !ok || !ValidQueueName(queue) {
		return "", 0, false
	}
	return queue, pid, true
}
