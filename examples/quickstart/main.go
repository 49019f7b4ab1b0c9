// Quickstart publishes a message and receives it, then asks a question and
// gets the answer, in one process, on the default home (/dev/shm/pubsub).
// Any other process, Go or Python, on the same home could be the
// publisher, the subscriber or the responder instead.
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/pubsub-go/pubsub"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A subscriber: a channel on a topic, where '+' stands for one or more words.
	ch, err := pubsub.NewChannel("orders.+")
	if err != nil {
		return err
	}
	defer ch.Close() // deletes the channel and any message left in it

	// A publisher: every live channel whose topic matches gets the message.
	n, err := pubsub.Publish("orders.created", []byte(`{"id": 42}`), pubsub.Headers{"priority": 1})
	if err != nil {
		return err
	}
	fmt.Printf("published to %d channel(s)\n", n)

	msg, err := ch.Next(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (priority %v)\n", msg.Topic, msg.Content, msg.Headers["priority"])

	// Request/reply: a responder answers each request on its topic ...
	svc, err := pubsub.NewChannel("text.upper")
	if err != nil {
		return err
	}
	defer svc.Close()
	go svc.Subscribe(ctx, func(req *pubsub.Message) error {
		return pubsub.Reply(req, []byte(strings.ToUpper(string(req.Content))), nil)
	}, pubsub.WithoutSignalHandling())

	// ... and a requester waits for the answer.
	reply, err := pubsub.Request(ctx, "text.upper", []byte("hello"), nil)
	if err != nil {
		return err
	}
	fmt.Printf("reply: %s\n", reply.Content)
	return nil
}
