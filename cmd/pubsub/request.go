package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/topic"
)

type requestOptions struct {
	headers []string
	timeout time.Duration
	many    bool
	format  string
}

// defaultRequestTimeout is how long request waits for its reply unless
// --timeout says otherwise.
const defaultRequestTimeout = 5 * time.Second

func (a *app) newRequestCmd() *cobra.Command {
	var o requestOptions
	cmd := &cobra.Command{
		Use:                   "request [-H key=value | -H key:value | -H key:=JSON]... [--timeout DURATION] [--many] [--format raw|lines|json] TOPIC [CONTENT]",
		Aliases:               []string{"req"},
		DisableFlagsInUseLine: true,
		Short:                 "Publish a request on TOPIC and write the reply",
		Long: `Publish CONTENT on TOPIC as a request, wait for the reply and write it to stdout.
CONTENT is taken as publish takes its message: the argument, or the whole of
standard input when there is none or it is "-". Headers are -H as in publish.

A request is a message with two headers more: response-topic, the topic of a
channel this command opens for its replies, and correlation-id, an id the reply
carries back. Any subscriber can answer, in any language, by publishing to the
response-topic with the same correlation-id, as formix-pubsub's RPC example
does; from the shell, "pubsub subscribe --exec CMD --reply TOPIC" answers each
request with what CMD writes on stdout.

With --many, request waits for a reply from every channel the request reached
(the publisher knows how many), and writes each; without, the first reply. A
work queue the request reached counts as one channel: one of its workers
answers. Replies are written in --format, as subscribe writes messages:
  lines  the content and a newline (the default)
  raw    the content bytes as they are: a reply that ends with a newline, as
         a responder's "echo" writes it, gets no second one
  json   one object per line, with id, timestamp, topic, headers and content

The exit status is 0 when the replies came; 4 when no channel took the request
(nobody listens on TOPIC), at once; 5 when --timeout (default 5s; 0: no limit)
passed first, after writing the replies that came, if any; 130 or 143 when
SIGINT or SIGTERM came first. A home that does not exist is not made: request
says so and exits 3, as publish does.`,
		Example: `  pubsub request time.now ''
  pubsub req -H unit=celsius --timeout 2s sensors.read 'kitchen'
  echo '{"a": 1, "b": 2}' | pubsub request --format json math.add
  pubsub request --many --timeout 1s health.check ping

  # a responder, in another terminal: the reply is what CMD writes
  pubsub subscribe --exec 'tr a-z A-Z' --reply text.upper
  pubsub request text.upper 'hello'    # HELLO`,
		Args:              argCount("TOPIC [CONTENT]", 1, 2),
		ValidArgsFunction: a.completeTopics(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.request(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.headers, "header", "H", nil, "add a header: `key=value` or key:value for a string, key:=JSON for a JSON scalar (repeatable)")
	f.DurationVar(&o.timeout, "timeout", defaultRequestTimeout, "wait at most `DURATION` for the reply, or with --many the replies (0: no limit)")
	f.BoolVar(&o.many, "many", false, "wait for a reply from every channel the request reached, and write each")
	f.StringVar(&o.format, "format", "lines", "output `FORMAT` of the replies: raw, lines or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// requestTimeout is the cause of a request that --timeout ended.
type requestTimeout struct{ d time.Duration }

func (e *requestTimeout) Error() string { return fmt.Sprintf("--timeout %v passed", e.d) }

func (a *app) request(ctx context.Context, o requestOptions, args []string) error {
	topicName := args[0]
	if err := topic.ValidateTopic(topicName); err != nil {
		return usage(err)
	}
	switch {
	case !slices.Contains(formats, o.format):
		return usageErrorf("invalid --format %q: want raw, lines or json", o.format)
	case o.timeout < 0:
		return usageErrorf("invalid --timeout %v: want a positive duration, or 0 for no limit", o.timeout)
	}
	headers, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}
	for _, k := range []string{pubsub.ResponseTopicHeader, pubsub.CorrelationIDHeader} {
		if _, ok := headers[k]; ok {
			return usageErrorf("-H %s: request sets this header itself", k)
		}
	}
	in := a.messageInput(args[1:])
	h, err := a.openExistingHome()
	if err != nil {
		return err
	}
	defer h.Close()
	content, err := a.readMessage(in)
	if err != nil {
		return err
	}

	// Catch the signals once the content is read: until then, a signal
	// ends the command as it would any other.
	ctx, _, stop := notifyInterrupt(ctx)
	defer stop()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, &requestTimeout{o.timeout})
		defer cancel()
	}
	var replies []*pubsub.Message
	if o.many {
		replies, err = h.RequestMany(ctx, topicName, content, headers)
	} else {
		var r *pubsub.Message
		if r, err = h.Request(ctx, topicName, content, headers); r != nil {
			replies = append(replies, r)
		}
	}
	out := bufio.NewWriterSize(a.stdout, 64<<10)
	for _, r := range replies {
		if werr := writeMessage(out, o.format, r); werr != nil {
			return werr
		}
	}
	return requestStatus(err)
}

// requestStatus gives the error of a request its exit status.
func requestStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pubsub.ErrNoResponders) {
		return &statusError{exitFewer, err}
	}
	if e, ok := errors.AsType[*interrupted](err); ok {
		return &statusError{e.status(), err}
	}
	if _, ok := errors.AsType[*requestTimeout](err); ok {
		return &statusError{exitTimeout, err}
	}
	if _, ok := errors.AsType[*pubsub.HeaderError](err); ok {
		return usage(err)
	}
	return err
}
