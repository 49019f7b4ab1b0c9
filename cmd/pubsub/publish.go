package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/topic"
)

type publishOptions struct {
	headers []string
	lines   bool
	json    bool
	quiet   bool
	require int
}

func (a *app) newPublishCmd() *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:                   "publish [-H key=value | -H key:value | -H key:=JSON]... [--lines] [--json] [--quiet] [--require N] TOPIC [MESSAGE]",
		Aliases:               []string{"pub"},
		DisableFlagsInUseLine: true,
		Short:                 "Publish a message to every channel whose topic matches",
		Long: `Publish MESSAGE on TOPIC, to every live channel whose topic matches. Without
MESSAGE, or when it is "-", the message is the whole of standard input, bytes
as they are; with --lines, each line of the input is a message of its own (the
newline is not part of it), published as soon as it is read.

TOPIC is concrete: words of [A-Za-z0-9-] separated by '.', with no wildcard.

Headers, as httpie and the nats CLI write them. The key ends at the first ':'
or '=', and what follows says how to read the value:
  -H key=value    a string, as it is; it may hold ':' and '='
  -H key:value    a string, as the nats CLI writes it: spaces around the key
                  and the value are dropped
  -H key:=JSON    a JSON scalar, keeping its type: n:=42, f:=1.0, ok:=true,
                  x:=null, s:='"text"'; integers stay integers

The number of channels reached goes to stderr, unless --quiet; with --json, each
message gives {"channels":N,"id":ID} on stdout instead. No matching channel is
not an error: as in formix-pubsub, a message nobody listens to is dropped. With
--require N, a message that reached fewer than N channels is: exit status 4
(with --lines, the other lines are still published). A matching channel that
could not be reached (a Python subscriber whose FIFO is full) is an error too:
exit status 1, which comes before 4.

A home that does not exist is not made (a subscriber makes its home): publish
says so, publishes nothing and exits 3, so that a mistyped --home or
$PUBSUB_HOME shows.`,
		Example: `  pubsub publish logs.app 'service started'
  pubsub publish -H level=info -H pid:=4242 logs.app 'service started'
  pubsub pub -H 'Nats-Msg-Id: 42' orders.created '{"order": 42}'
  date | pubsub publish clock.tick
  pubsub publish images.new < photo.jpg
  tail -f app.log | pubsub publish --lines --quiet logs.app
  pubsub publish --require 1 jobs.new 'job 42' || echo 'no worker is listening'
  pubsub publish --json orders.created '{"order": 1}'
  pubsub publish logs.app -- '-a message starting with a dash'`,
		Args:              argCount("TOPIC [MESSAGE]", 1, 2),
		ValidArgsFunction: a.completeTopics(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.publish(o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.headers, "header", "H", nil, "add a header: `key=value` or key:value for a string, key:=JSON for a JSON scalar (repeatable)")
	f.BoolVar(&o.lines, "lines", false, "publish each line of the input as a message of its own")
	f.BoolVar(&o.json, "json", false, `print {"channels":N,"id":ID} on stdout for each message, instead of the count on stderr`)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors: not the number of channels reached")
	f.IntVar(&o.require, "require", 0, "fail with exit status 4 when a message reaches fewer than `N` channels")
	return cmd
}

func (a *app) publish(o publishOptions, args []string) error {
	topicName := args[0]
	if err := topic.ValidateTopic(topicName); err != nil {
		return usage(err)
	}
	if o.require < 0 {
		return usageErrorf("invalid --require %d: want a number of channels", o.require)
	}
	headers, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}
	in := a.messageInput(args[1:])
	// Open the home before reading the input, so a bad home is reported
	// at once rather than after standard input ends.
	h, err := a.openExistingHome()
	if err != nil {
		return err
	}
	defer h.Close()

	if !o.lines {
		content, err := a.readMessage(in)
		if err != nil {
			return err
		}
		return a.publishOne(h, o, topicName, content, headers)
	}
	a.noteTerminal(in)
	// A delivery failure or a shortfall on one line does not keep the
	// others from being published; it is reported at once, and the exit
	// status says so: a delivery failure before a shortfall.
	var failed error
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, rerr := r.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			err := a.publishOne(h, o, topicName, line, headers)
			switch {
			case errors.Is(err, errReported):
				failed = err
			case errors.Is(err, errFewer):
				if failed == nil {
					failed = err
				}
			case err != nil:
				return err
			}
		}
		if rerr == io.EOF {
			return failed
		}
		if rerr != nil {
			return fmt.Errorf("pubsub: read standard input: %w", rerr)
		}
	}
}

// messageInput is where the message comes from, given the arguments
// after TOPIC: MESSAGE, or standard input when there is none or it is "-".
func (a *app) messageInput(args []string) io.Reader {
	if len(args) > 0 && args[0] != "-" {
		return strings.NewReader(args[0])
	}
	return a.stdin
}

// noteTerminal says, when the message is to be read from a terminal, how
// to end it: a command that waits for it would otherwise seem to hang.
func (a *app) noteTerminal(in io.Reader) {
	if in == a.stdin && isTerminal(in) {
		fmt.Fprintln(a.stderr, "pubsub: reading the message from the terminal; end it with Ctrl-D")
	}
}

// readMessage reads the whole message from in (see messageInput).
func (a *app) readMessage(in io.Reader) ([]byte, error) {
	a.noteTerminal(in)
	content, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("pubsub: read standard input: %w", err)
	}
	return content, nil
}

// errFewer is a message that reached fewer channels than --require,
// reported on stderr already.
var errFewer = &statusError{status: exitFewer}

// publishOne publishes one message and reports how many channels it
// reached.
func (a *app) publishOne(h *pubsub.Home, o publishOptions, topicName string, content []byte, headers pubsub.Headers) error {
	id, n, err := h.PublishID(topicName, content, headers)
	de, missed := errors.AsType[*pubsub.DeliveryError](err)
	if err != nil && !missed {
		if _, bad := errors.AsType[*pubsub.HeaderError](err); bad {
			return usage(err)
		}
		return err
	}
	if o.json {
		if _, werr := fmt.Fprintf(a.stdout, "{\"channels\":%d,\"id\":%d}\n", n, id); werr != nil {
			return stdoutError(werr)
		}
	} else if !o.quiet {
		fmt.Fprintf(a.stderr, "pubsub: published to %d channel%s (id %d)\n", n, plural(n), id)
	}
	if missed {
		fmt.Fprintln(a.stderr, errorLine(de))
		return errReported
	}
	if n < o.require {
		fmt.Fprintf(a.stderr, "pubsub: message %d reached %d channel%s, fewer than --require %d\n", id, n, plural(n), o.require)
		return errFewer
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

const headerForms = "use -H key=value or -H key:value for a string, -H key:=JSON for a JSON scalar, as in n:=42, f:=1.5, ok:=true, x:=null"

// parseHeaders reads the -H flags (see parseHeader). A later flag for the
// same key wins.
func parseHeaders(flags []string) (pubsub.Headers, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	h := make(pubsub.Headers, len(flags))
	for _, f := range flags {
		k, v, err := parseHeader(f)
		if je, ok := errors.AsType[*jsonValueError](err); ok {
			// key:=text is JSON here, and the string "=text" to the nats
			// CLI: when text is not JSON, say how to write either string.
			return nil, usageErrorf("malformed header %q: %v; for the string %q write -H %s, for %q write -H %s",
				f, je, je.text, shellQuote(je.key+"="+je.text), "="+je.text, shellQuote(je.key+"=="+je.text))
		}
		if err != nil {
			return nil, usageErrorf("malformed header %q: %s; %s", f, err, headerForms)
		}
		h[k] = v
	}
	return h, nil
}

// parseHeader reads one -H flag. The key ends at the first ':' or '=', so
// it holds neither, and what follows it says how to read the value:
//
//	key=value  a string, as it is; it may hold ':' and '='
//	key:=JSON  a JSON scalar, which keeps its type (httpie's form)
//	key:value  a string, as the nats CLI writes headers: spaces around the
//	           key and the value are dropped, and it may hold ':' and '='
//
// Every flag has one reading. Where two conventions differ, on key:=text
// (a JSON scalar here, the string "=text" in nats), a text that is not
// JSON is a *jsonValueError, so that the message can name both string
// forms.
func parseHeader(f string) (key string, value any, err error) {
	i := strings.IndexAny(f, ":=")
	if i < 0 {
		return "", nil, errors.New("no ':' or '='")
	}
	key, rest := f[:i], f[i:]
	var text string
	typed := false
	switch {
	case strings.HasPrefix(rest, ":="):
		text, typed = rest[2:], true
	case rest[0] == '=':
		text = rest[1:]
	default:
		key, text = strings.TrimSpace(key), strings.TrimSpace(rest[1:])
	}
	switch {
	case key == "":
		return "", nil, errors.New("empty key")
	case !utf8.ValidString(key):
		return "", nil, errors.New("key is not valid UTF-8")
	case !typed:
		if !utf8.ValidString(text) {
			return "", nil, errors.New("value is not valid UTF-8")
		}
		return key, text, nil
	}
	value, err = parseScalar(text)
	if se, ok := errors.AsType[*syntaxError](err); ok {
		return "", nil, &jsonValueError{key: key, text: text, err: se.err}
	}
	return key, value, err
}

// jsonValueError is a key:=text flag whose text is not JSON.
type jsonValueError struct {
	key, text string
	err       error
}

func (e *jsonValueError) Error() string {
	return fmt.Sprintf("':=' takes a JSON scalar, and %q is not JSON (%v)", e.text, e.err)
}

// syntaxError is text that is not JSON at all, as opposed to JSON that is
// not a scalar or a number out of range.
type syntaxError struct{ err error }

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON (%v)", e.err) }

// shellQuote quotes s for a POSIX shell, leaving it bare when it needs
// no quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseScalar reads a JSON scalar, keeping integers apart from floats: an
// integer literal becomes an int64, or a *big.Int beyond its range; any
// other number a float64.
func parseScalar(text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty JSON value")
	}
	if err := json.Unmarshal([]byte(text), new(any)); err != nil {
		return nil, &syntaxError{err}
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &syntaxError{err}
	}
	switch v := v.(type) {
	case nil, bool, string:
		return v, nil
	case json.Number:
		return parseNumber(string(v))
	case []any:
		return nil, errors.New("a JSON array is not a scalar")
	default:
		return nil, errors.New("a JSON object is not a scalar")
	}
}

func parseNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("invalid integer %s", s)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s is out of a float's range", s)
	}
	return f, nil
}
