package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pubsub-go/pubsub"
)

// exampleHome opens a throwaway home; real programs use the package-level
// functions on the default home, or pubsub.Open on a directory of theirs.
func exampleHome() (*pubsub.Home, func()) {
	dir, err := os.MkdirTemp("", "pubsub-example-")
	if err != nil {
		log.Fatal(err)
	}
	home, err := pubsub.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	return home, func() { home.Close(); os.RemoveAll(dir) }
}

// Publish a message and receive it on a channel.
func Example() {
	home, done := exampleHome()
	defer done()

	ch, err := home.NewChannel("greetings")
	if err != nil {
		log.Fatal(err)
	}
	defer ch.Close()

	n, err := home.Publish("greetings", []byte("hello"), pubsub.Headers{"lang": "en"})
	if err != nil {
		log.Fatal(err)
	}
	msg, err := ch.Next(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, msg.Topic, string(msg.Content), msg.Headers["lang"])
	// Output: 1 greetings hello en
}

// Fetch never waits: drain what is pending, then stop.
func ExampleChannel_Fetch() {
	home, done := exampleHome()
	defer done()
	ch, err := home.NewChannel("jobs")
	if err != nil {
		log.Fatal(err)
	}
	defer ch.Close()
	for _, job := range []string{"resize", "upload"} {
		if _, err := home.Publish("jobs", []byte(job), nil); err != nil {
			log.Fatal(err)
		}
	}
	for {
		msg, err := ch.Fetch()
		if errors.Is(err, pubsub.ErrNoMessage) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(msg.Content))
	}
	// Output:
	// resize
	// upload
}

// Queue many messages without waiting for each, then make sure they are
// all out: until Flush returns, a crash would lose what is still queued.
func ExampleHome_PublishAsync() {
	home, done := exampleHome()
	defer done()
	ch, err := home.NewChannel("metrics.cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer ch.Close()
	for i := range 1000 {
		if err := home.PublishAsync("metrics.cpu", fmt.Appendf(nil, "sample %d", i), nil); err != nil {
			log.Fatal(err) // an invalid topic or header, or a closed home
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := home.Flush(ctx); err != nil {
		log.Fatal(err) // DeliveryErrors(err) lists the messages that missed channels
	}
	n := 0
	var last string
	for msg, err := range ch.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		n++
		if last = string(msg.Content); n == 1000 {
			break
		}
	}
	fmt.Println(n, "messages, the last:", last)
	// Output:
	// 1000 messages, the last: sample 999
}

// A subscriber that is done with each message as soon as it has handled
// it hands the buffer back, and the next large message is read into it.
func ExampleMessage_Release() {
	home, done := exampleHome()
	defer done()
	ch, err := home.NewChannel("frames")
	if err != nil {
		log.Fatal(err)
	}
	defer ch.Close()
	frame := make([]byte, 4<<20)
	for range 3 {
		if _, err := home.Publish("frames", frame, nil); err != nil {
			log.Fatal(err)
		}
	}
	total := 0
	for range 3 {
		msg, err := ch.Next(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		total += len(msg.Content) // handle it: from here on, it is not used
		msg.Release()
	}
	fmt.Println(total>>20, "MiB")
	// Output: 12 MiB
}

// '=' stands for exactly one word, '+' for one or more.
func ExampleHome_NewChannel_wildcards() {
	home, done := exampleHome()
	defer done()
	errorsOnly, _ := home.NewChannel("logs.=.error")
	defer errorsOnly.Close()
	everything, _ := home.NewChannel("logs.+")
	defer everything.Close()

	for _, topic := range []string{"logs.app.error", "logs.error", "logs.app.db.error"} {
		n, _ := home.Publish(topic, nil, nil)
		fmt.Println(topic, "reached", n)
	}
	// Output:
	// logs.app.error reached 2
	// logs.error reached 1
	// logs.app.db.error reached 1
}

// Every channel on a topic gets its own copy.
func ExampleHome_Publish_severalSubscribers() {
	home, done := exampleHome()
	defer done()
	audit, _ := home.NewChannel("payments")
	defer audit.Close()
	mailer, _ := home.NewChannel("payments")
	defer mailer.Close()

	n, _ := home.Publish("payments", []byte("42 EUR"), nil)
	a, _ := audit.Fetch()
	m, _ := mailer.Fetch()
	fmt.Println(n, string(a.Content), string(m.Content))
	// Output: 2 42 EUR 42 EUR
}

// Subscribe runs a handler per message until a timeout, a context, or
// SIGINT/SIGTERM ends it.
func ExampleChannel_Subscribe() {
	home, done := exampleHome()
	defer done()
	ch, _ := home.NewChannel("metrics.+")
	defer ch.Close()
	home.Publish("metrics.cpu", []byte("0.42"), nil)
	home.Publish("metrics.mem", []byte("0.77"), nil)

	n, err := ch.Subscribe(context.Background(), func(m *pubsub.Message) error {
		fmt.Println(m.Topic, string(m.Content))
		return nil
	}, pubsub.WithTimeout(100*time.Millisecond))
	fmt.Println("handled", n, err)
	// Output:
	// metrics.cpu 0.42
	// metrics.mem 0.77
	// handled 2 <nil>
}

// Request/reply: a server answers each request with Reply; a client's
// Request waits for the answer. The two headers it takes (response-topic,
// correlation-id) are those of formix-pubsub's RPC example, so either side
// may be a Python process.
func Example_requestReply() {
	home, done := exampleHome()
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	requests, err := home.NewChannel("rpc.echo")
	if err != nil {
		log.Fatal(err)
	}
	defer requests.Close()
	go requests.Subscribe(ctx, func(req *pubsub.Message) error { // the server
		return home.Reply(req, []byte("echo: "+string(req.Content)), nil)
	}, pubsub.WithoutSignalHandling())

	reply, err := home.Request(ctx, "rpc.echo", []byte("ping"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply.Content))

	// With several servers, RequestMany collects one reply from each: it
	// knows how many took the request, so it needs no timeout to end.
	more, _ := home.NewChannel("rpc.echo")
	defer more.Close()
	go more.Subscribe(ctx, func(req *pubsub.Message) error {
		return home.Reply(req, []byte("echo too: "+string(req.Content)), nil)
	}, pubsub.WithoutSignalHandling())
	replies, err := home.RequestMany(ctx, "rpc.echo", []byte("all"), nil)
	fmt.Println(len(replies), err)
	// Output:
	// echo: ping
	// 2 <nil>
}

// A pool of workers: every job published on jobs.resize enters the queue
// "resize" once and is handled by one worker, whatever the number of
// workers (here goroutines; usually processes, each calling NewQueue).
func ExampleHome_NewQueue_workerPool() {
	home, done := exampleHome()
	defer done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var handled []string
	var wg sync.WaitGroup
	for range 3 {
		q, err := home.NewQueue("resize", "jobs.resize")
		if err != nil {
			log.Fatal(err)
		}
		defer q.Close()
		wg.Go(func() {
			q.Subscribe(ctx, func(m *pubsub.Message) error {
				mu.Lock()
				defer mu.Unlock()
				handled = append(handled, string(m.Content))
				if len(handled) == 6 {
					cancel()
				}
				return nil // acknowledged: the job leaves the queue
			}, pubsub.WithoutSignalHandling())
		})
	}
	for i := range 6 {
		home.Publish("jobs.resize", []byte(fmt.Sprintf("image-%d.png", i)), nil)
	}
	wg.Wait()
	slices.Sort(handled)
	fmt.Println(handled)
	// Output: [image-0.png image-1.png image-2.png image-3.png image-4.png image-5.png]
}

// A retry with dead letters: a handler's error gives the message back, to
// be delivered again after the retry delay; after the maximum deliveries
// it is set aside as a dead letter, and the queue goes on.
func ExampleHome_DeadLetters_retry() {
	home, done := exampleHome()
	defer done()
	q, err := home.NewQueue("mail", "mail.send",
		pubsub.WithMaxDeliveries(3), pubsub.WithRetryDelay(time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	home.Publish("mail.send", []byte("to: nobody@invalid"), nil)
	home.Publish("mail.send", []byte("to: ada@example.com"), nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent := 0
	q.Subscribe(ctx, func(m *pubsub.Message) error {
		if strings.Contains(string(m.Content), "invalid") {
			fmt.Println("attempt", m.Deliveries(), "failed")
			if m.Deliveries() == 3 {
				cancel() // the last: it becomes a dead letter
			}
			return errors.New("no such domain")
		}
		sent++
		return nil
	}, pubsub.WithoutSignalHandling())

	dead, _ := home.DeadLetters("mail")
	for _, d := range dead {
		fmt.Printf("dead letter: %s, delivered %d times\n", d.Message.Content, d.Deliveries)
	}
	fmt.Println("sent", sent)
	// Output:
	// attempt 1 failed
	// attempt 2 failed
	// attempt 3 failed
	// dead letter: to: nobody@invalid, delivered 3 times
	// sent 1
}
