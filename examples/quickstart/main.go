// Quickstart publishes a message and receives it, in one process, on the
// default home (/dev/shm/pubsub). Any other process, Go or Python, on the
// same home could be the publisher or the subscriber instead.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pubsub-go/pubsub"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
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

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := ch.Next(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (priority %v)\n", msg.Topic, msg.Content, msg.Headers["priority"])
	return nil
}
