// Command pubsub publishes to and subscribes from a pubsub home from the
// shell, and shows an operator what is on it. Run "pubsub --help".
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
