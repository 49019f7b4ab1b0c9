package bridge_test

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/bridge"
)

// A bridge that sends the home's orders to the other hosts and takes
// theirs, through JetStream so that a restart loses nothing, until
// SIGINT or SIGTERM.
func ExampleNew() {
	home, err := pubsub.Open("/dev/shm/pubsub")
	if err != nil {
		log.Fatal(err)
	}
	defer home.Close()
	b, err := bridge.New(home, "nats://nats.example:4222",
		bridge.WithExport("orders.+"),
		bridge.WithImport("orders.+"),
		bridge.WithDurable("host-a"), // unique per host
		bridge.WithNATSOptions(nats.UserCredentials("/etc/pubsub/bridge.creds")),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := b.Run(ctx); err != nil {
		log.Fatal(err)
	}
	log.Printf("%+v", b.Stats())
}
