package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/engine"
)

// A benchmark message's content starts with what the subscriber needs to
// measure and check it; the rest is padding, byte i being byte(i).
const (
	offSendAt = 0  // CLOCK_MONOTONIC at the start of the send, ns (8 bytes)
	offSeq    = 8  // sequence number from 0, per publisher (8 bytes)
	offPub    = 16 // publisher index from 0 (4 bytes)
	idleTopic = "idle"
)

// MinSize is the smallest message a run can send: the start of every
// message says when it was sent, its sequence number and its publisher.
const MinSize = 20

var roles = []string{"pub", "sub", "idle", "qsetup", "qsub", "fifo-pub", "fifo-sub", "file-pub", "file-sub", "nats-pub", "nats-sub"}

// A Worker is one process of a run: [Run] starts each as
//
//	pubsub --home HOME bench worker ROLE FLAGS...
//
// with the role and flags of [Worker.Args], and the command's hidden
// worker subcommand sets the fields from them again and calls
// [Worker.Run]. A Worker runs once.
//
// ROLE is pub or sub (this library), idle (holds Channels channels on
// other topics), qsetup (makes the queue of a run, with Backlog messages
// in it) and qsub (a worker of it), fifo-pub and fifo-sub (the bare FIFO
// floor), file-pub and file-sub (the minimal file-per-message floor),
// nats-pub and nats-sub (the same traffic through a NATS server).
type Worker struct {
	Role     string
	Topic    string        // pub: the topic; sub: the channel's topic
	Dir      string        // floors: the directory the two processes meet in
	Size     int           // content bytes
	Count    int           // messages per publisher
	Pubs     int           // sub: how many publishers send to it
	Index    int           // pub: its index
	Interval time.Duration // pub: one message per interval; 0: back to back
	Reach    int           // pub: channels each message must reach
	Channels int           // idle: how many channels to hold
	Tmpfile  bool          // file-pub: stage with O_TMPFILE and link, as Publish does
	Files    bool          // pub: every message a file (pubsub.WithFilesOnly), as to a Python peer
	Batch    int           // pub: messages per PublishBatch call; 0: Publish
	Async    bool          // pub: PublishAsync, then Flush
	Backlog  int           // qsetup: messages to put in the queue
	Samples  string        // file to write latencies (sub) or call times (pub) to
	NATS     string        // nats-pub, nats-sub: the server's URL
	// CPUProfile is a file for a CPU profile of the worker. Run does not
	// write it: the command that runs the worker does.
	CPUProfile string

	stdin  io.Reader
	stdout io.Writer
	open   func(...pubsub.Option) (*pubsub.Home, error)
	clock  *monoClock
}

// Args returns the command line of w after "pubsub bench worker": the
// role, then a flag for every field.
func (w *Worker) Args() []string {
	return []string{
		w.Role,
		"--topic=" + w.Topic,
		"--dir=" + w.Dir,
		"--size=" + strconv.Itoa(w.Size),
		"--count=" + strconv.Itoa(w.Count),
		"--pubs=" + strconv.Itoa(w.Pubs),
		"--index=" + strconv.Itoa(w.Index),
		"--interval=" + w.Interval.String(),
		"--reach=" + strconv.Itoa(w.Reach),
		"--channels=" + strconv.Itoa(w.Channels),
		"--tmpfile=" + strconv.FormatBool(w.Tmpfile),
		"--files=" + strconv.FormatBool(w.Files),
		"--batch=" + strconv.Itoa(w.Batch),
		"--async=" + strconv.FormatBool(w.Async),
		"--backlog=" + strconv.Itoa(w.Backlog),
		"--samples=" + w.Samples,
		"--nats=" + w.NATS,
		"--cpuprofile=" + w.CPUProfile,
	}
}

// Check reports a Worker that cannot run: an unknown role, or messages
// too small for what a subscriber reads from them.
func (w *Worker) Check() error {
	if !slices.Contains(roles, w.Role) {
		return fmt.Errorf("bench worker: unknown role %q", w.Role)
	}
	if w.Role != "idle" && w.Role != "qsetup" && w.Size < MinSize {
		return fmt.Errorf("bench worker: --size %d: want at least %d", w.Size, MinSize)
	}
	return nil
}

// workerResult is the one JSON line a worker prints when it is done.
type workerResult struct {
	Role string `json:"role"`

	// Publishers.
	Sent   int   `json:"sent,omitempty"`
	LoopNs int64 `json:"loop_ns,omitempty"` // from the first send to the return of the last
	CallNs int64 `json:"call_ns,omitempty"` // time inside the send calls, summed
	// Missed counts, by channel directory, the deliveries Publish reported
	// it could not make (a *pubsub.DeliveryError); MissedError is the
	// first such error.
	Missed      map[string]int `json:"missed,omitempty"`
	MissedError string         `json:"missed_error,omitempty"`
	// Short counts the calls that returned fewer channels than there are
	// subscribers, with no error.
	Short int `json:"short,omitempty"`

	// Subscribers.
	Received    int   `json:"received,omitempty"`
	Expected    int   `json:"expected,omitempty"`
	Excused     int   `json:"excused,omitempty"` // of Expected, reported to a publisher as not delivered
	Duplicates  int   `json:"duplicates,omitempty"`
	Malformed   int   `json:"malformed,omitempty"`
	FirstSendNs int64 `json:"first_send_ns,omitempty"`
	LastRecvNs  int64 `json:"last_recv_ns,omitempty"`

	// CPUNs is the user and system time the process used while it
	// measured: a publisher from its start line to its last send, a
	// subscriber from ready to its last message. What the process costs to
	// start and exit does not count.
	CPUNs int64 `json:"cpu_ns"`
}

// Run does the worker's part of a run, reading the start line (and, for
// a subscriber, how many messages to expect) from stdin and writing its
// lines to stdout; open opens the run's home. It prints "ready" on
// stdout once it is set up; a publisher then waits for a line on stdin
// before it sends, and an idle worker holds its channels until stdin
// ends. When done, it prints one JSON object on stdout and writes its
// samples (latencies, or the durations of its sends, in nanoseconds, 8
// bytes little-endian each) to w.Samples. SIGTERM ends a subscriber's
// wait for messages; its result then says what was missing.
//
// An error from writing to stdout is returned as stdout returned it, or
// wrapped with %w, so that the caller can recognise it by the errors its
// stdout returns.
func (w *Worker) Run(ctx context.Context, stdin io.Reader, stdout io.Writer, open func(...pubsub.Option) (*pubsub.Home, error)) error {
	if err := w.Check(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	w.stdin, w.stdout, w.open, w.clock = stdin, stdout, open, newMonoClock()
	var res workerResult
	var err error
	switch w.Role {
	case "pub":
		res, err = w.pub()
	case "sub":
		res, err = w.sub(ctx)
	case "idle":
		return w.idle()
	case "qsetup":
		return w.qsetup()
	case "qsub":
		res, err = w.qsub(ctx)
	case "fifo-pub":
		res, err = w.fifoPub()
	case "fifo-sub":
		res, err = w.fifoSub(ctx)
	case "file-pub":
		res, err = w.filePub()
	case "file-sub":
		res, err = w.fileSub(ctx)
	case "nats-pub":
		res, err = w.natsPub()
	case "nats-sub":
		res, err = w.natsSub(ctx)
	}
	if err != nil {
		return fmt.Errorf("bench worker %s: %w", w.Role, err)
	}
	res.Role = w.Role
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w.stdout, "%s\n", line); err != nil {
		return err
	}
	if want := res.Expected - res.Excused; res.Expected > 0 && (res.Received != want || res.Duplicates > 0 || res.Malformed > 0) {
		return fmt.Errorf("bench worker %s: received %d of %d messages (%d missing), %d duplicates, %d malformed",
			w.Role, res.Received, want, want-res.Received, res.Duplicates, res.Malformed)
	}
	return nil
}

// ready says the worker is set up: "ready", and for a subscriber of this
// library its channel's directory.
func (w *Worker) ready(info ...string) error {
	_, err := fmt.Fprintln(w.stdout, strings.Join(append([]string{"ready"}, info...), " "))
	return err
}

// waitGo waits for the line on stdin that starts the measured run.
func (w *Worker) waitGo() error {
	if _, err := bufio.NewReader(w.stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for the start line on stdin: %w", err)
	}
	return nil
}

// writeSamples writes samples to the --samples file.
func (w *Worker) writeSamples(samples []int64) error {
	if w.Samples == "" {
		return nil
	}
	b := make([]byte, 0, 8*len(samples))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint64(b, uint64(s))
	}
	return os.WriteFile(w.Samples, b, 0o644)
}

// readSamples reads a file written by writeSamples.
func readSamples(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%s: %d bytes, not a whole number of samples", path, len(b))
	}
	s := make([]int64, len(b)/8)
	for i := range s {
		s[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return s, nil
}

// content returns a message's content: the header fields zero, padding
// byte i equal to byte(i).
func (w *Worker) content() []byte {
	c := make([]byte, w.Size)
	for i := MinSize; i < len(c); i++ {
		c[i] = byte(i)
	}
	binary.LittleEndian.PutUint32(c[offPub:], uint32(w.Index))
	return c
}

// sender runs a publisher's loop: stamp the content, send it, time the
// call. send is one Publish, or one floor message; flush, if not nil,
// runs after the last, inside the measurement of CPU.
func (w *Worker) sender(content []byte, send func(seq int) error, flush func() error) (workerResult, error) {
	if err := w.waitGo(); err != nil {
		return workerResult{}, err
	}
	calls := make([]int64, 0, w.Count)
	cpu0 := cpuTime()
	interval := int64(w.Interval)
	start := w.clock.now()
	next := start
	end := start
	for seq := range w.Count {
		if interval > 0 {
			next += interval
			now := w.clock.now()
			if now > next+interval {
				next = now // fell behind: carry on from here, without a burst
			}
			for d := next - now; d > 0; d = next - w.clock.now() {
				time.Sleep(time.Duration(d))
			}
		}
		t0 := w.clock.now()
		binary.LittleEndian.PutUint64(content[offSendAt:], uint64(t0))
		binary.LittleEndian.PutUint64(content[offSeq:], uint64(seq))
		if err := send(seq); err != nil {
			return workerResult{}, fmt.Errorf("message %d: %w", seq, err)
		}
		end = w.clock.now()
		calls = append(calls, end-t0)
	}
	if flush != nil {
		if err := flush(); err != nil {
			return workerResult{}, err
		}
	}
	cpu := cpuTime() - cpu0
	if err := w.writeSamples(calls); err != nil {
		return workerResult{}, err
	}
	var sum int64
	for _, c := range calls {
		sum += c
	}
	first := start
	if interval > 0 {
		first = start + interval
	}
	return workerResult{Sent: len(calls), LoopNs: end - first, CallNs: sum, CPUNs: cpu}, nil
}

// pub publishes through this library.
func (w *Worker) pub() (workerResult, error) {
	var opts []pubsub.Option
	if w.Files {
		opts = append(opts, pubsub.WithFilesOnly())
	}
	h, err := w.open(opts...)
	if err != nil {
		return workerResult{}, err
	}
	defer h.Close()
	content := w.content()
	// Load the routing table before the clock starts, with a topic no
	// channel listens to, as a long-running publisher would have it.
	if _, err := h.Publish("warmup", content, nil); err != nil {
		return workerResult{}, err
	}
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	missed := map[string]int{}
	missedErr := ""
	short := 0
	// With --batch, messages wait (stamped when added) until a batch is
	// full or the last is added: their latency includes the wait.
	var batch [][]byte
	publish := func(seq int) (int, error) {
		if w.Batch <= 0 {
			return h.Publish(w.Topic, content, nil)
		}
		batch = append(batch, slices.Clone(content))
		if len(batch) < w.Batch && seq < w.Count-1 {
			return w.Reach, nil // checked when sent, with the last one
		}
		n, err := h.PublishBatch(w.Topic, batch, nil)
		n -= (len(batch) - 1) * w.Reach // the others were taken as reached
		batch = batch[:0]
		return n, err
	}
	// Reported, so not lost silently: count it, tell the subscriber not to
	// wait for it, and carry on measuring.
	excuse := func(err error) (n int, rest error) {
		des := pubsub.DeliveryErrors(err)
		if len(des) == 0 {
			return 0, err
		}
		for _, de := range des {
			for _, m := range de.Missed {
				missed[m.Channel]++
			}
			if missedErr == "" {
				missedErr = de.Error()
			}
			n += len(de.Missed)
		}
		return n, nil // DeliveryErrors lists them all, or err is something else too
	}
	var flush func() error
	if w.Async {
		publish = func(int) (int, error) {
			return w.Reach, h.PublishAsync(w.Topic, content, nil)
		}
		flush = func() error {
			_, err := excuse(h.Flush(context.Background()))
			return err
		}
	}
	res, err := w.sender(content, func(seq int) error {
		n, err := publish(seq)
		if m, rest := excuse(err); m > 0 {
			n, err = n+m, rest
		}
		switch {
		case err != nil:
		case n > w.Reach:
			err = fmt.Errorf("reached %d channels, want %d", n, w.Reach)
		case n < w.Reach:
			// A subscriber can find a message's file before its id is
			// announced; if that was its last message, it closes its
			// channel, and the announcement then finds no reader and is
			// not counted. Whether every message arrived, the
			// subscribers tell.
			short++
		}
		return err
	}, flush)
	if len(missed) > 0 {
		res.Missed, res.MissedError = missed, missedErr
	}
	res.Short = short
	return res, err
}

// receiver checks and times what a subscriber receives.
type receiver struct {
	size, count int
	seen        [][]uint64 // per publisher, a bit per sequence number
	samples     []int64
	res         workerResult
}

func newReceiver(o *Worker) *receiver {
	r := &receiver{size: o.Size, count: o.Count, seen: make([][]uint64, o.Pubs)}
	for i := range r.seen {
		r.seen[i] = make([]uint64, (o.Count+63)/64)
	}
	r.res.Expected = o.Pubs * o.Count
	r.samples = make([]int64, 0, r.res.Expected)
	r.res.CPUNs = -cpuTime()
	return r
}

func (r *receiver) done() bool { return r.res.Received >= r.res.Expected }

// finish ends the measurement.
func (r *receiver) finish() workerResult {
	r.res.CPUNs += cpuTime()
	return r.res
}

// add records one message received at recv.
func (r *receiver) add(content []byte, recv int64) {
	if len(content) != r.size || (r.size > MinSize && content[r.size-1] != byte(r.size-1)) {
		r.res.Malformed++
		return
	}
	send := int64(binary.LittleEndian.Uint64(content[offSendAt:]))
	seq := binary.LittleEndian.Uint64(content[offSeq:])
	pub := binary.LittleEndian.Uint32(content[offPub:])
	if int(pub) >= len(r.seen) || seq >= uint64(r.count) {
		r.res.Malformed++
		return
	}
	word, bit := &r.seen[pub][seq/64], uint64(1)<<(seq%64)
	if *word&bit != 0 {
		r.res.Duplicates++
		return
	}
	*word |= bit
	r.res.Received++
	r.samples = append(r.samples, recv-send)
	if r.res.FirstSendNs == 0 || send < r.res.FirstSendNs {
		r.res.FirstSendNs = send
	}
	r.res.LastRecvNs = max(r.res.LastRecvNs, recv)
}

// sub receives through this library, with Channel.Next: the blocking path.
// A line "expect N" on stdin lowers the number of messages it waits for
// to N, when publishers were told some of theirs could not be delivered.
func (w *Worker) sub(ctx context.Context) (workerResult, error) {
	h, err := w.open()
	if err != nil {
		return workerResult{}, err
	}
	defer h.Close()
	ch, err := h.NewChannel(w.Topic)
	if err != nil {
		return workerResult{}, err
	}
	defer ch.Close()
	r := newReceiver(w)
	var expected, received atomic.Int64
	expected.Store(int64(r.res.Expected))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errEnough := errors.New("every message expected has arrived")
	go func() {
		sc := bufio.NewScanner(w.stdin)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "expect "); ok {
				v, err := strconv.ParseInt(n, 10, 64)
				if err != nil {
					continue
				}
				expected.Store(v)
				if received.Load() >= v {
					cancel(errEnough) // wake Next
				}
			}
		}
	}()
	if err := w.ready(ch.Dir()); err != nil {
		return workerResult{}, err
	}
	for received.Load() < expected.Load() {
		m, err := ch.Next(ctx)
		now := w.clock.now()
		if err != nil {
			if ctx.Err() != nil {
				break // all there, or told to stop: the result says what is missing
			}
			return workerResult{}, err
		}
		r.add(m.Content, now)
		m.Release() // as a subscriber that keeps nothing would
		received.Store(int64(r.res.Received))
	}
	r.res.Excused = r.res.Expected - int(expected.Load())
	return r.finish(), w.writeSamples(r.samples)
}

// idle holds channels on topics nobody publishes to until stdin ends.
func (w *Worker) idle() error {
	h, err := w.open()
	if err != nil {
		return err
	}
	defer h.Close()
	chans := make([]*pubsub.Channel, 0, w.Channels)
	defer func() {
		for _, c := range chans {
			c.Close()
		}
	}()
	for i := range w.Channels {
		c, err := h.NewChannel(idleTopic + "." + strconv.Itoa(i))
		if err != nil {
			return err
		}
		chans = append(chans, c)
	}
	if err := w.ready(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, w.stdin)
	return nil
}

// benchQueue is the name of the queue of a run.
const benchQueue = "bench"

// qsetup makes the queue of a run, bounded for what the run sends, and
// fills it with its backlog: one message file linked under every name, so
// that a backlog of a million costs a page of tmpfs, not four GiB.
func (w *Worker) qsetup() error {
	h, err := w.open()
	if err != nil {
		return err
	}
	defer h.Close()
	room := int64(w.Backlog) + int64(max(w.Pubs, 1))*1_000_000
	if err := h.CreateQueue(benchQueue, w.Topic, pubsub.WithMaxMessages(room), pubsub.WithMaxBytes(room*4096)); err != nil {
		return err
	}
	if w.Backlog > 0 {
		eng, err := engine.Open(h.Dir(), engine.Config{})
		if err != nil {
			return err
		}
		defer eng.Close()
		if err := eng.SeedQueue(benchQueue, w.Backlog, make([]byte, max(w.Size, MinSize))); err != nil {
			return err
		}
	}
	return w.ready()
}

// qsub is a worker of the run's queue: it takes messages with Queue.Next
// and acknowledges each at once. A line "drain" on stdin, once the
// publishers are done, makes it take what is ready without waiting, then
// stop: the workers share the messages, so none knows how many are its.
func (w *Worker) qsub(ctx context.Context) (workerResult, error) {
	h, err := w.open()
	if err != nil {
		return workerResult{}, err
	}
	defer h.Close()
	q, err := h.NewQueue(benchQueue, w.Topic)
	if err != nil {
		return workerResult{}, err
	}
	defer q.Close()
	r := newReceiver(w)
	var draining atomic.Bool
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		sc := bufio.NewScanner(w.stdin)
		for sc.Scan() {
			if sc.Text() == "drain" {
				draining.Store(true)
				cancel(errors.New("drain")) // wake Next
			}
		}
	}()
	if err := w.ready(q.Dir()); err != nil {
		return workerResult{}, err
	}
	for {
		var m *pubsub.Message
		if draining.Load() {
			if m, err = q.Fetch(); err == pubsub.ErrNoMessage {
				break
			}
		} else if m, err = q.Next(ctx); err != nil && ctx.Err() != nil {
			continue
		}
		now := w.clock.now()
		if err != nil {
			return workerResult{}, err
		}
		r.add(m.Content, now)
		if err := m.Ack(); err != nil {
			return workerResult{}, err
		}
	}
	res := r.finish()
	res.Expected = 0 // the run checks the workers' sum
	return res, w.writeSamples(r.samples)
}
