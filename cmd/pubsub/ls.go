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
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the channels in the home, live and dead",
		Long: `List every channel in the home, one line each:

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

With --json, an array of objects instead, with name, dir, topic, pid, live,
runtime, pending, bytes, queued, created (RFC 3339) and age_seconds. An empty home
prints "[]", or a note on stderr without --json.

A home that does not exist is not made: ls says so, with where the default
is, and exits 3.`,
		Example: `  pubsub ls
  pubsub --home /tmp/bus ls
  pubsub ls --json | jq -r '.[] | select(.live | not) | .dir'`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ls(asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
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

func (a *app) ls(asJSON bool) error {
	h, err := a.openExistingHome()
	if err != nil {
		return err
	}
	defer h.Close()
	chans, err := h.Channels()
	if err != nil {
		return err
	}
	now := time.Now()
	if asJSON {
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
		text, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(a.stdout, "%s\n", text); err != nil {
			return stdoutError(err)
		}
		return nil
	}
	if len(chans) == 0 {
		fmt.Fprintf(a.stderr, "pubsub: no channels in %s\n", h.Dir())
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPID\tSTATE\tRUNTIME\tPENDING\tBYTES\tQUEUED\tAGE")
	for _, c := range chans {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n",
			c.Topic, c.PID, state(c), c.Runtime, c.Pending, c.Bytes, c.Queued, age(now, c.Created))
	}
	if err := tw.Flush(); err != nil {
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
