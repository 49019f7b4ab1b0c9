package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub"
)

func (a *app) newLsCmd() *cobra.Command {
	var asJSON, queues bool
	cmd := &cobra.Command{
		Use:   "ls [--json] [--queues]",
		Short: "List the channels and work queues in the home",
		Long: `List every channel in the home, live and dead, one line each:

  TOPIC    the channel's topic, wildcards included
  PID      the process that opened it
  STATE    live, or dead: its process is gone and it was never closed
           ("pubsub cleanup" removes it)
  RUNTIME  go, python (formix-pubsub), or unknown, told from what is in its
           directory
  PENDING  message files waiting in it, and BYTES their size
  QUEUED   bytes waiting in a live Go channel's FIFO: message ids, and small
           messages that Go publishers send whole, without a file
  AGE      since it was opened

then, after a blank line, every work queue, one line each:

  QUEUE     the queue's name
  TOPIC     the pattern of the topics it takes
  WORKERS   workers attached, alive
  BACKLOG   messages ready for a worker
  INFLIGHT  messages a worker holds, not yet acknowledged
  DELAYED   messages given back, waiting for their retry delay
  DEAD      dead letters ("pubsub queue dead NAME" lists them)
  DROPPED, EXPIRED, REJECTED
            messages lost to its bounds since it was made: dropped for newer
            ones (--drop-oldest), expired (--max-age), refused when full

Either table is left out when there is nothing to show in it; with --queues,
only the queues are shown ("pubsub queue ls" shows their bounds).

With --json, an array of objects instead, one per channel, with name, dir,
topic, pid, live, runtime, pending, bytes, queued, created (RFC 3339) and
age_seconds; with --json --queues, an array of queues, the objects "pubsub
queue ls --json" prints. An empty home prints "[]", or a note on stderr
without --json.

A home that does not exist is not made: ls says so, with where the default
is, and exits 3.`,
		Example: `  pubsub ls
  pubsub --home /tmp/bus ls
  pubsub ls --json | jq -r '.[] | select(.live | not) | .dir'
  pubsub ls --queues --json | jq -r '.[] | "\(.name) \(.backlog)"'`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ls(asJSON, queues)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	cmd.Flags().BoolVar(&queues, "queues", false, "list the work queues alone (with --json, an array of queues)")
	return cmd
}

type channelJSON struct {
	Name       string  `json:"name"`
	Dir        string  `json:"dir"`
	Topic      string  `json:"topic"`
	PID        int     `json:"pid"`
	Live       bool    `json:"live"`
	Runtime    string  `json:"runtime"`
	Pending    int     `json:"pending"`
	Bytes      int64   `json:"bytes"`
	Queued     int     `json:"queued"`
	Created    *string `json:"created"`
	AgeSeconds float64 `json:"age_seconds"`
}

func (a *app) ls(asJSON, queuesOnly bool) (err error) {
	h, err := a.openExistingHome()
	if err != nil {
		return err
	}
	defer h.Close()
	var chans []pubsub.ChannelInfo
	if !queuesOnly {
		if chans, err = h.Channels(); err != nil {
			return err
		}
	}
	var queues []pubsub.QueueInfo
	if queuesOnly || !asJSON {
		// A queue that cannot be read (a config another program wrote)
		// fails ls after what could be listed, not instead of it.
		var qerr error
		queues, qerr = h.Queues()
		defer keepFirst(&err, func() error { return qerr })
		if qerr != nil && len(chans) == 0 && len(queues) == 0 {
			return nil
		}
	}
	now := time.Now()
	switch {
	case asJSON && queuesOnly:
		return a.writeQueuesJSON(queues)
	case asJSON:
		out := make([]channelJSON, 0, len(chans))
		for _, c := range chans {
			j := channelJSON{
				Name: c.Name, Dir: c.Dir, Topic: c.Topic, PID: c.PID, Live: c.Live,
				Runtime: c.Runtime.String(), Pending: c.Pending, Bytes: c.Bytes, Queued: c.Queued,
			}
			if !c.Created.IsZero() {
				s := c.Created.UTC().Format(time.RFC3339Nano)
				j.Created = &s
				j.AgeSeconds = now.Sub(c.Created).Round(time.Millisecond).Seconds()
			}
			out = append(out, j)
		}
		return a.writeJSON(out)
	case len(chans) == 0 && len(queues) == 0 && queuesOnly:
		fmt.Fprintf(a.stderr, "pubsub: no queues in %s\n", h.Dir())
		return nil
	case len(chans) == 0 && len(queues) == 0:
		fmt.Fprintf(a.stderr, "pubsub: no channels or queues in %s\n", h.Dir())
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if len(chans) > 0 {
		fmt.Fprintln(tw, "TOPIC\tPID\tSTATE\tRUNTIME\tPENDING\tBYTES\tQUEUED\tAGE")
		for _, c := range chans {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n",
				c.Topic, c.PID, state(c), c.Runtime, c.Pending, c.Bytes, c.Queued, age(now, c.Created))
		}
		// Each table is aligned on its own.
		if err := tw.Flush(); err != nil {
			return stdoutError(err)
		}
	}
	if len(queues) > 0 {
		if len(chans) > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, "QUEUE\tTOPIC\tWORKERS\tBACKLOG\tINFLIGHT\tDELAYED\tDEAD\tDROPPED\tEXPIRED\tREJECTED")
		for _, q := range queues {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
				q.Name, q.Topic, q.Workers, q.Backlog, q.InFlight, q.Delayed, q.DeadLetters, q.Dropped, q.Expired, q.Rejected)
		}
	}
	if err := tw.Flush(); err != nil {
		return stdoutError(err)
	}
	return nil
}

// writeJSON writes v as one line of JSON.
func (a *app) writeJSON(v any) error {
	text, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(a.stdout, "%s\n", text); err != nil {
		return stdoutError(err)
	}
	return nil
}

func state(c pubsub.ChannelInfo) string {
	if c.Live {
		return "live"
	}
	return "dead"
}

// age says how long ago t was, in its largest unit: 42s, 17m, 5h, 3d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}
