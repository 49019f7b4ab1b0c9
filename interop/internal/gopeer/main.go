//go:build unix

// Command gopeer is the Go side of the interoperability tests in package
// interop. Its modes and output mirror the Python scripts in
// interop/testdata, so a test can put either language on either side:
//
//	gopeer sub [-n N] [-mode next|subscribe|wait] TOPIC...
//	    one channel per TOPIC: prints "live DIR" (or "refused ERR") for each,
//	    then one JSON record per message, then "done COUNT RESULT". It ends
//	    after N messages in all, or on SIGTERM after taking what is still
//	    queued. -mode subscribe uses Channel.Subscribe (one TOPIC only);
//	    -mode wait does not read until SIGUSR1.
//	gopeer pub [-async] FILE
//	    publishes one message per JSON line of FILE ({"topic", "headers",
//	    "content"}) and prints {"id", "n", "err", "refused"} for each; with
//	    -async, queues each with PublishAsync, then prints one such line
//	    for Flush (no id, n the messages queued).
//	gopeer rpc-server TOPIC
//	    answers each request on TOPIC: content "re:"+content to its
//	    response-topic, with its correlation-id; prints a line per request
//	    and "done COUNT RESULT" after SIGTERM.
//	gopeer rpc-client -n N TOPIC
//	    sends N requests to TOPIC at once, then waits for the N replies.
//	gopeer work [-n N] [-hold] NAME TOPIC
//	    joins queue NAME on TOPIC: prints "live DIR", then one record per
//	    message ("ch" its deliveries), acknowledging each, and "done COUNT
//	    RESULT" after N messages or SIGTERM. -hold takes none, until killed.
//	gopeer respond TOPIC
//	    rpc-server with Home.Reply.
//	gopeer request [-n N] [-many] TOPIC
//	    N requests at once with Home.Request (RequestMany): one record per
//	    reply ("ch" the request's number), then "done N RESULT".
//	gopeer hold TOPIC
//	    prints "live DIR" and waits; SIGTERM closes the channel.
//	gopeer cleanup
//	    runs Home.Cleanup and prints "removed PATH" for each, then "done".
//	gopeer ls
//	    prints one JSON line per channel: name, pid, live, runtime.
//
// The home is $PUBSUB_HOME. With $PEER_UID set, the process first becomes
// that user (and group); with $PEER_UMASK, it sets its umask.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pubsub-go/pubsub"
)

// inlineMax is the largest content a record carries in full; beyond it,
// the length and SHA-256 stand for it.
const inlineMax = 64 << 10

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gopeer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gopeer sub|pub|rpc-server|rpc-client|hold|cleanup|ls [ARGS]")
	}
	if err := dropPrivileges(); err != nil {
		return err
	}
	home, err := pubsub.Default()
	if err != nil {
		return err
	}
	defer home.Close()
	mode, args := args[0], args[1:]
	switch mode {
	case "sub":
		return sub(home, args)
	case "pub":
		return pub(home, args)
	case "rpc-server":
		return rpcServer(home, args)
	case "work":
		return work(home, args)
	case "respond":
		return respond(home, args)
	case "request":
		return request(home, args)
	case "rpc-client":
		return rpcClient(home, args)
	case "hold":
		return hold(home, args)
	case "cleanup":
		return cleanup(home)
	case "ls":
		return ls(home)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// dropPrivileges applies $PEER_UMASK and $PEER_UID.
func dropPrivileges() error {
	if s := os.Getenv("PEER_UMASK"); s != "" {
		m, err := strconv.ParseUint(s, 8, 32)
		if err != nil {
			return fmt.Errorf("PEER_UMASK: %w", err)
		}
		syscall.Umask(int(m))
	}
	if s := os.Getenv("PEER_UID"); s != "" {
		id, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("PEER_UID: %w", err)
		}
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(id); err != nil {
			return fmt.Errorf("setgid: %w", err)
		}
		if err := syscall.Setuid(id); err != nil {
			return fmt.Errorf("setuid: %w", err)
		}
	}
	return nil
}

// out writes whole lines to stdout from any goroutine.
var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriterSize(os.Stdout, 1<<20)}

func say(a ...any) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintln(out.w, a...)
	_ = out.w.Flush()
}

func printJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are printed
	}
	say(string(b))
}

// record is one received message, as both peers print it. Ids and
// timestamps are decimal strings and header values are text with their
// type, so nothing goes through a float on the way to the test.
type record struct {
	Ch      int         `json:"ch"`
	ID      string      `json:"id,omitempty"`
	TS      string      `json:"ts,omitempty"`
	Topic   string      `json:"topic,omitempty"`
	Headers [][3]string `json:"headers"`
	Len     int         `json:"len"`
	SHA256  string      `json:"sha256,omitempty"`
	Content *string     `json:"content,omitempty"`
	Err     string      `json:"err,omitempty"`
}

func toRecord(ch int, m *pubsub.Message) record {
	sum := sha256.Sum256(m.Content)
	r := record{
		Ch: ch, ID: strconv.FormatUint(m.ID, 10), TS: strconv.FormatInt(m.Timestamp, 10),
		Topic: m.Topic, Headers: typedHeaders(m.Headers),
		Len: len(m.Content), SHA256: hex.EncodeToString(sum[:]),
	}
	if len(m.Content) <= inlineMax {
		s := base64.StdEncoding.EncodeToString(m.Content)
		r.Content = &s
	}
	return r
}

// typedHeaders lists headers as [key, type, text], sorted by key; the
// types are Python's names.
func typedHeaders(h pubsub.Headers) [][3]string {
	out := [][3]string{}
	for k, v := range h {
		var typ, text string
		switch v := v.(type) {
		case string:
			typ, text = "str", v
		case int64:
			typ, text = "int", strconv.FormatInt(v, 10)
		case *big.Int:
			typ, text = "int", v.String()
		case float64:
			typ, text = "float", strconv.FormatFloat(v, 'g', -1, 64)
		case bool:
			typ, text = "bool", strconv.FormatBool(v)
		case nil:
			typ, text = "null", "null"
		case json.RawMessage:
			typ, text = "raw", string(v)
		default:
			typ, text = fmt.Sprintf("go:%T", v), fmt.Sprint(v)
		}
		out = append(out, [3]string{k, typ, text})
	}
	slices.SortFunc(out, func(a, b [3]string) int {
		if a[0] < b[0] {
			return -1
		}
		if a[0] > b[0] {
			return 1
		}
		return 0
	})
	return out
}

// fromTyped turns [key, type, text] triples into publishable headers.
func fromTyped(hs [][3]string) (pubsub.Headers, error) {
	h := pubsub.Headers{}
	for _, kv := range hs {
		k, typ, text := kv[0], kv[1], kv[2]
		switch typ {
		case "str":
			h[k] = text
		case "int":
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				h[k] = i
				continue
			}
			b, ok := new(big.Int).SetString(text, 10)
			if !ok {
				return nil, fmt.Errorf("header %q: bad int %q", k, text)
			}
			h[k] = b
		case "float":
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("header %q: %w", k, err)
			}
			h[k] = f
		case "bool":
			h[k] = text == "true"
		case "null":
			h[k] = nil
		default:
			return nil, fmt.Errorf("header %q: unknown type %q", k, typ)
		}
	}
	return h, nil
}

func sub(home *pubsub.Home, args []string) error {
	fs := flag.NewFlagSet("sub", flag.ContinueOnError)
	limit := fs.Int("n", 0, "end after this many messages in all (0: on SIGTERM)")
	mode := fs.String("mode", "next", "next, subscribe or wait")
	without := fs.String("without", "", "make the channels refuse messages with this header (WithoutHeader)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Signals are caught before any channel is live, so the test may send
	// them as soon as it reads a live line.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigCtx := ctx
	if *mode != "subscribe" { // Subscribe handles SIGTERM itself
		var stop context.CancelFunc
		sigCtx, stop = signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
	}
	usr1 := make(chan os.Signal, 1)
	if *mode == "wait" {
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	var opts []pubsub.ChannelOption
	if *without != "" {
		opts = append(opts, pubsub.WithoutHeader(*without))
	}
	var chans []*pubsub.Channel
	for _, t := range fs.Args() {
		ch, err := home.NewChannel(t, opts...)
		if err != nil {
			say("refused", err)
			chans = append(chans, nil)
			continue
		}
		defer ch.Close()
		chans = append(chans, ch)
		say("live", ch.Dir())
	}

	var (
		mu    sync.Mutex
		count int
	)
	emit := func(i int, m *pubsub.Message, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			printJSON(record{Ch: i, Err: err.Error()})
			return
		}
		printJSON(toRecord(i, m))
		count++
		if *limit > 0 && count >= *limit {
			cancel()
		}
	}

	if *mode == "subscribe" {
		if len(chans) != 1 || chans[0] == nil {
			return errors.New("-mode subscribe takes one valid topic")
		}
		n, err := chans[0].Subscribe(ctx, func(m *pubsub.Message) error {
			emit(0, m, nil)
			return nil
		})
		result := "nil"
		if sig, ok := pubsub.Signal(err); ok {
			result = "signal:" + sig.String()
		} else if err != nil && ctx.Err() == nil {
			result = strconv.Quote(err.Error())
		}
		say("done", n, result)
		return nil
	}

	if *mode == "wait" {
		select {
		case <-usr1:
		case <-sigCtx.Done():
		}
		signal.Stop(usr1)
	}
	var wg sync.WaitGroup
	for i, ch := range chans {
		if ch == nil {
			continue
		}
		wg.Go(func() {
			for {
				m, err := ch.Next(sigCtx)
				if err != nil && sigCtx.Err() != nil {
					return
				}
				emit(i, m, err)
			}
		})
	}
	wg.Wait()
	result := "nil"
	if ctx.Err() == nil { // a signal, not the count: take what is queued
		result = "signal"
		for i, ch := range chans {
			for ch != nil {
				m, err := ch.Fetch()
				if errors.Is(err, pubsub.ErrNoMessage) {
					break
				}
				emit(i, m, err)
			}
		}
	}
	mu.Lock()
	n := count
	mu.Unlock()
	say("done", n, result)
	return nil
}

// pubLine is one message to publish.
type pubLine struct {
	Topic   string      `json:"topic"`
	Headers [][3]string `json:"headers"`
	Content string      `json:"content"` // base64
}

type pubResult struct {
	ID      string `json:"id"`
	N       int    `json:"n"`
	Err     string `json:"err"`
	Refused bool   `json:"refused"`
}

func pub(home *pubsub.Home, args []string) error {
	async := len(args) == 2 && args[0] == "-async"
	if async {
		args = args[1:]
	}
	if len(args) != 1 {
		return errors.New("usage: gopeer pub [-async] FILE")
	}
	queued := 0
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var l pubLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		content, err := base64.StdEncoding.DecodeString(l.Content)
		if err != nil {
			return err
		}
		h, err := fromTyped(l.Headers)
		if err != nil {
			return err
		}
		if async {
			if err := home.PublishAsync(l.Topic, content, h); err != nil {
				return err
			}
			queued++
			continue
		}
		id, n, err := home.PublishID(l.Topic, content, h)
		r := pubResult{ID: strconv.FormatUint(id, 10), N: n}
		if err != nil {
			r.Err = err.Error()
			r.Refused = errors.Is(err, pubsub.ErrInvalidTopic)
		}
		printJSON(r)
	}
	if err := sc.Err(); err != nil || !async {
		return err
	}
	r := pubResult{N: queued}
	if err := home.Flush(context.Background()); err != nil {
		r.Err = err.Error()
	}
	printJSON(r)
	return nil
}

type served struct {
	Corr string `json:"corr"`
	N    int    `json:"n"`
	Err  string `json:"err"`
}

func rpcServer(home *pubsub.Home, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gopeer rpc-server TOPIC")
	}
	ch, err := home.NewChannel(args[0])
	if err != nil {
		return err
	}
	defer ch.Close()
	say("live", ch.Dir())
	n, err := ch.Subscribe(context.Background(), func(m *pubsub.Message) error {
		rt, _ := m.Headers["response-topic"].(string)
		corr, _ := m.Headers["correlation-id"].(string)
		n, err := home.Publish(rt, append([]byte("re:"), m.Content...), pubsub.Headers{"correlation-id": corr})
		s := served{Corr: corr, N: n}
		if err != nil {
			s.Err = err.Error()
		}
		printJSON(s)
		return nil
	})
	result := "nil"
	if sig, ok := pubsub.Signal(err); ok {
		result = "signal:" + sig.String()
	} else if err != nil {
		result = strconv.Quote(err.Error())
	}
	say("done", n, result)
	return nil
}

type sent struct {
	Corr    string `json:"corr"`
	Content string `json:"content"` // base64
	N       int    `json:"n"`
	Err     string `json:"err"`
}

func rpcClient(home *pubsub.Home, args []string) error {
	fs := flag.NewFlagSet("rpc-client", flag.ContinueOnError)
	calls := fs.Int("n", 1, "calls")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gopeer rpc-client -n N TOPIC")
	}
	replyTopic := fmt.Sprintf("rpc.responses.go-%d", os.Getpid())
	replies, err := home.NewChannel(replyTopic)
	if err != nil {
		return err
	}
	defer replies.Close()
	say("live", replies.Dir())
	tag := rand.Text()[:8]
	for i := range *calls {
		corr := fmt.Sprintf("go-%d-%s", i, tag)
		content := fmt.Appendf(nil, "call %d from Go", i)
		n, err := home.Publish(fs.Arg(0), content, pubsub.Headers{"response-topic": replyTopic, "correlation-id": corr})
		s := sent{Corr: corr, Content: base64.StdEncoding.EncodeToString(content), N: n}
		if err != nil {
			s.Err = err.Error()
		}
		printJSON(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range *calls {
		m, err := replies.Next(ctx)
		if err != nil {
			return err
		}
		printJSON(toRecord(0, m))
	}
	say("done", *calls, "nil")
	return nil
}

// work is a worker of a queue.
func work(home *pubsub.Home, args []string) error {
	fs := flag.NewFlagSet("work", flag.ContinueOnError)
	limit := fs.Int("n", 0, "messages, 0 for no limit")
	holdOnly := fs.Bool("hold", false, "take nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: gopeer work [-n N] [-hold] NAME TOPIC")
	}
	// Signals are caught before "live", so that one sent right after it
	// ends the worker cleanly.
	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	q, err := home.NewQueue(fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	defer q.Close()
	say("live", q.Dir())
	if *holdOnly {
		select {}
	}
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()
	count := 0
	n, err := q.Subscribe(ctx, func(m *pubsub.Message) error {
		printJSON(toRecord(m.Deliveries(), m))
		if count++; count == *limit {
			cancel()
		}
		return nil
	}, pubsub.WithoutSignalHandling())
	result := "nil"
	switch {
	case sigCtx.Err() != nil && (*limit == 0 || count < *limit):
		result = "signal:terminated"
	case err != nil && ctx.Err() == nil:
		result = strconv.Quote(err.Error())
	}
	say("done", n, result)
	return nil
}

// respond answers each request on TOPIC with Home.Reply: "re:" and the
// request's content. It prints what rpc-server prints.
func respond(home *pubsub.Home, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gopeer respond TOPIC")
	}
	ch, err := home.NewChannel(args[0])
	if err != nil {
		return err
	}
	defer ch.Close()
	say("live", ch.Dir())
	n, err := ch.Subscribe(context.Background(), func(m *pubsub.Message) error {
		corr, _ := m.Headers[pubsub.CorrelationIDHeader].(string)
		s := served{Corr: corr, N: 1}
		if err := home.Reply(m, append([]byte("re:"), m.Content...), nil); err != nil {
			s.N, s.Err = 0, err.Error()
		}
		printJSON(s)
		return nil
	})
	result := "nil"
	if sig, ok := pubsub.Signal(err); ok {
		result = "signal:" + sig.String()
	} else if err != nil {
		result = strconv.Quote(err.Error())
	}
	say("done", n, result)
	return nil
}

// request sends N requests to TOPIC at once with Home.Request (with
// -many, RequestMany), each from a goroutine of its own, and prints one
// record per reply, then "done N RESULT".
func request(home *pubsub.Home, args []string) error {
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	calls := fs.Int("n", 1, "requests")
	many := fs.Bool("many", false, "RequestMany")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gopeer request [-n N] [-many] TOPIC")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, *calls)
	for i := range *calls {
		wg.Go(func() {
			content := fmt.Appendf(nil, "call %d from Go", i)
			var replies []*pubsub.Message
			var err error
			if *many {
				replies, err = home.RequestMany(ctx, fs.Arg(0), content, nil)
			} else {
				var m *pubsub.Message
				if m, err = home.Request(ctx, fs.Arg(0), content, nil); err == nil {
					replies = []*pubsub.Message{m}
				}
			}
			if err != nil {
				errs <- err
				return
			}
			for _, m := range replies {
				printJSON(toRecord(i, m))
			}
		})
	}
	wg.Wait()
	close(errs)
	result := "nil"
	if err := <-errs; err != nil {
		result = strconv.Quote(err.Error())
	}
	say("done", *calls, result)
	return nil
}

func hold(home *pubsub.Home, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gopeer hold TOPIC")
	}
	ch, err := home.NewChannel(args[0])
	if err != nil {
		return err
	}
	say("live", ch.Dir())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	if err := ch.Close(); err != nil {
		return err
	}
	say("closed")
	return nil
}

func cleanup(home *pubsub.Home) error {
	removed, err := home.Cleanup()
	for _, p := range removed {
		say("removed", p)
	}
	if err != nil {
		return err
	}
	say("done")
	return nil
}

type lsLine struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Live    bool   `json:"live"`
	Runtime string `json:"runtime"`
}

func ls(home *pubsub.Home) error {
	infos, err := home.Channels()
	if err != nil {
		return err
	}
	for _, c := range infos {
		printJSON(lsLine{c.Name, c.PID, c.Live, c.Runtime.String()})
	}
	say("done")
	return nil
}
