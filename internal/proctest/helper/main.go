// Command helper is the other process in the cross-process tests of
// package pubsub. Its output is line based, so tests wait for events
// instead of sleeping:
//
//	helper sub HOME TOPIC [COUNT]   prints "live DIR", then one JSON line per message, then "done N ERR"
//	helper hold HOME TOPIC          prints "live DIR" and waits to be killed
//	helper pub HOME TOPIC N SIZE    publishes N messages "i:<padding>" and prints "published N REACHED"
//	helper pubasync HOME TOPIC EVERY  PublishAsync "0", "1", ... up to 20,000, a Flush every EVERY, printing "flushed N" after each; then waits to be killed
//	helper pubfree HOME TOPIC FREE  uses up its descriptors but FREE, publishes one message, prints "result REACHED ERR"
//	helper backend                  prints the fsys backend it was built with
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/fsys"
)

type record struct {
	ID      uint64         `json:"id"`
	TS      int64          `json:"ts"`
	Topic   string         `json:"topic"`
	Headers pubsub.Headers `json:"headers"`
	Content []byte         `json:"content"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 1 && args[0] == "backend" {
		fmt.Println(fsys.Backend)
		return nil
	}
	if len(args) < 3 {
		return fmt.Errorf("usage: helper sub|hold|pub HOME TOPIC")
	}
	home, err := pubsub.Open(args[1])
	if err != nil {
		return err
	}
	defer home.Close()
	switch args[0] {
	case "sub":
		limit := -1
		if len(args) > 3 {
			if limit, err = strconv.Atoi(args[3]); err != nil {
				return err
			}
		}
		ch, err := home.NewChannel(args[2])
		if err != nil {
			return err
		}
		defer ch.Close()
		fmt.Println("live", ch.Dir())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		enc := json.NewEncoder(os.Stdout)
		n, err := ch.Subscribe(ctx, func(m *pubsub.Message) error {
			if err := enc.Encode(record{m.ID, m.Timestamp, m.Topic, m.Headers, m.Content}); err != nil {
				return err
			}
			if limit--; limit == 0 {
				cancel()
			}
			return nil
		})
		errText := "nil"
		if sig, ok := pubsub.Signal(err); ok {
			errText = "signal:" + sig.String()
		} else if err != nil && ctx.Err() == nil {
			errText = strings.ReplaceAll(err.Error(), " ", "_")
		}
		fmt.Println("done", n, errText)
		return nil
	case "hold":
		ch, err := home.NewChannel(args[2])
		if err != nil {
			return err
		}
		fmt.Println("live", ch.Dir())
		select {}
	case "pubfree":
		if len(args) < 4 {
			return fmt.Errorf("usage: helper pubfree HOME TOPIC FREE")
		}
		free, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		release := hogDescriptors(free)
		n, err := home.Publish(args[2], []byte("short of descriptors"), nil)
		release()
		errText := "nil"
		if err != nil {
			errText = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Println("result", n, errText)
		return nil
	case "pubasync":
		if len(args) < 4 {
			return fmt.Errorf("usage: helper pubasync HOME TOPIC EVERY")
		}
		every, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		for i := 1; i <= 20_000; i++ {
			if err := home.PublishAsync(args[2], []byte(strconv.Itoa(i-1)), nil); err != nil {
				return err
			}
			if i%every == 0 {
				if err := home.Flush(context.Background()); err != nil {
					return err
				}
				fmt.Println("flushed", i)
			}
		}
		select {}
	case "pub":
		if len(args) < 5 {
			return fmt.Errorf("usage: helper pub HOME TOPIC N SIZE")
		}
		n, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		size, err := strconv.Atoi(args[4])
		if err != nil {
			return err
		}
		reached := 0
		for i := range n {
			body := []byte(strconv.Itoa(i) + ":")
			for len(body) < size {
				body = append(body, 'x')
			}
			r, err := home.Publish(args[2], body, pubsub.Headers{"seq": i, "pid": os.Getpid()})
			if err != nil {
				return err
			}
			reached += r
		}
		fmt.Println("published", n, reached)
		return nil
	}
	return fmt.Errorf("unknown mode %q", args[0])
}

// hogDescriptors opens /dev/null until the process is out of descriptors,
// then closes free of them, so that the next calls have exactly free to
// use. The returned function closes the rest.
func hogDescriptors(free int) (release func()) {
	var held []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	for range min(free, len(held)) {
		held[len(held)-1].Close()
		held = held[:len(held)-1]
	}
	return func() {
		for _, f := range held {
			f.Close()
		}
	}
}
