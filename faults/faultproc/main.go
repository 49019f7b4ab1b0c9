// Command faultproc is the process the fault-injection suite starts,
// stops and kills. Publishers number their messages; subscribers check
// every message they get and print a summary the tests assert on:
//
//	faultproc pub HOME TOPIC PUB N SIZES [BATCH]
//	                                      prints "ready", publishes N messages
//	                                      (N=0: until killed) of the sizes in the
//	                                      comma-separated list, in turn, BATCH at
//	                                      a time with PublishBatch if given, then
//	                                      "published N REACHED"
//	faultproc sub HOME PATTERN WANT       prints "live DIR", takes messages until
//	                                      WANT (0: until SIGTERM), then "done" and
//	                                      the summary
//	faultproc work HOME QUEUE PATTERN [FAIL]
//	                                      a worker of QUEUE: prints "live DIR", then
//	                                      "got PUB SEQ DELIVERIES" for each message
//	                                      before it acknowledges it ("bad ERR" for
//	                                      one that fails the check), until SIGTERM;
//	                                      FAIL, as PUB:SEQ, is a message its handler
//	                                      always fails
//
// Messages are made and checked by package numbered.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/faults/numbered"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "faultproc:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 4 {
		return errors.New("usage: faultproc pub HOME TOPIC PUB N SIZES | sub HOME PATTERN WANT")
	}
	home, err := pubsub.Open(args[1])
	if err != nil {
		return err
	}
	defer home.Close()
	switch {
	case args[0] == "pub" && len(args) == 6:
		return pub(home, args[2], args[3], args[4], args[5], 0)
	case args[0] == "pub" && len(args) == 7:
		batch, err := strconv.Atoi(args[6])
		if err != nil {
			return err
		}
		return pub(home, args[2], args[3], args[4], args[5], batch)
	case args[0] == "work" && (len(args) == 4 || len(args) == 5):
		fail := ""
		if len(args) == 5 {
			fail = args[4]
		}
		return work(home, args[2], args[3], fail)
	case args[0] == "sub" && len(args) == 4:
		want, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		return sub(home, args[2], want)
	}
	return fmt.Errorf("bad arguments %q", args)
}

func pub(home *pubsub.Home, topic, pubArg, nArg, sizesArg string, batch int) error {
	pubNo, err := strconv.ParseUint(pubArg, 10, 32)
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(nArg, 10, 64)
	if err != nil {
		return err
	}
	var sizes []int
	for _, s := range strings.Split(sizesArg, ",") {
		size, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		sizes = append(sizes, size)
	}
	fmt.Println("ready")
	reached := 0
	var contents [][]byte
	for seq := uint64(0); n == 0 || seq < n; seq++ {
		b := numbered.Content(uint32(pubNo), seq, sizes[seq%uint64(len(sizes))])
		if batch > 0 {
			// Every message of a batch shares its headers, so they carry
			// the publisher only; Check reads seq from the content.
			if contents = append(contents, b); len(contents) < batch && seq+1 != n {
				continue
			}
			r, err := home.PublishBatch(topic, contents, numbered.Headers(uint32(pubNo), numbered.AnySeq))
			if err != nil {
				return fmt.Errorf("publish batch ending with %d: %w", seq, err)
			}
			reached += r
			contents = contents[:0]
			continue
		}
		r, err := home.Publish(topic, b, numbered.Headers(uint32(pubNo), seq))
		if err != nil {
			return fmt.Errorf("publish %d: %w", seq, err)
		}
		reached += r
	}
	fmt.Println("published", n, reached)
	return nil
}

func sub(home *pubsub.Home, pattern string, want int) error {
	ch, err := home.NewChannel(pattern)
	if err != nil {
		return err
	}
	defer ch.Close()
	fmt.Println("live", ch.Dir())
	t := numbered.NewTally()
	// Messages, not Subscribe: Subscribe skips a message file that cannot
	// be read, and this must count it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for m, err := range ch.Messages(ctx) {
		if _, bad := errors.AsType[*pubsub.MessageError](err); bad {
			t.Bad(err)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		t.Add(m)
		if t.Received == want {
			break
		}
	}
	firstError := t.FirstError
	if firstError == "" {
		firstError = t.FirstDisorder
	}
	fmt.Printf("done received=%d dup=%d corrupt=%d disorder=%d publishers=%d hwm_kib=%d error=%q\n",
		t.Received, t.Dup, t.Corrupt, t.Disorder, t.Publishers(), peakRSS(), firstError)
	return nil
}

func work(home *pubsub.Home, name, pattern, fail string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	q, err := home.NewQueue(name, pattern)
	if err != nil {
		return err
	}
	defer q.Close()
	fmt.Println("live", q.Dir())
	_, err = q.Subscribe(ctx, func(m *pubsub.Message) error {
		pub, seq, err := numbered.Check(m)
		if err != nil {
			fmt.Println("bad", strconv.Quote(err.Error()))
			return nil // a bad message is not retried: it was counted
		}
		// Printed before the acknowledgement: a worker killed between the
		// two shows a message handled twice, which the tests count.
		fmt.Println("got", pub, seq, m.Deliveries())
		if fmt.Sprintf("%d:%d", pub, seq) == fail {
			return errors.New("poison")
		}
		return nil
	}, pubsub.WithoutSignalHandling())
	if err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Println("done")
	return nil
}

// peakRSS reads the process's peak resident set size, in KiB.
func peakRSS() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kib
		}
	}
	return -1
}
