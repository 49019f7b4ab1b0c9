package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/fsys"
)

// Exit statuses, as documented in docs/CLI.md and in the root command's
// help (exitStatusHelp). 0 is kept for "did what was asked"; each other
// outcome a script may want to test has a status of its own.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure: the home, a delivery, I/O
	exitUsage   = 2 // the command line is wrong: flags, arguments, topic, header
	exitNoHome  = 3 // ls, cleanup, publish, request, queue: no home at the path; nothing was made
	exitNoQueue = 3 // queue dead|requeue|purge|rm|ls NAME: no queue NAME; as for a home, nothing there
	exitFewer   = 4 // publish --require N: a message reached fewer than N channels; request: none
	exitTimeout = 5 // subscribe --count N --timeout D: D passed before N messages; request: before the replies

	// exitSignal plus the signal's number is the status of a subscribe
	// --count N that SIGINT or SIGTERM stopped before N messages: 130 and
	// 143, what a shell reports for a process that signal killed.
	exitSignal = 128
)

// exitStatusHelp is the table of exit statuses in the root command's help.
const exitStatusHelp = `Exit status:
  0    did what was asked
  1    a runtime failure: the home, a delivery, I/O
  2    a usage error: unknown flag, wrong arguments, invalid topic or header
  3    ls, cleanup, publish, request, queue: no home at the path (they do not
       make one); queue dead, requeue, purge, rm, ls: no queue of that name
  4    publish --require N: a message reached fewer than N channels;
       request: no channel took the request (nobody listens on its topic)
  5    subscribe --count N: --timeout came before N messages;
       request: --timeout came before the reply (--many: before every reply)
  130  subscribe --count N: SIGINT came before N messages (143: SIGTERM);
       request: SIGINT came before the reply (143: SIGTERM)`

// app is one run of the command: its standard streams and what the root
// command's flags say.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	home     string // --home
	homeFlag *pflag.Flag

	// started is set once a command's own code runs. Any error cobra
	// returns before that (unknown command or flag, bad flag value, wrong
	// number of arguments) is a usage error.
	started bool
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// With SIGPIPE caught, a write to a pipe nobody reads any more fails
	// with EPIPE instead of killing the process (os/signal, "SIGPIPE"), so
	// a subscriber can close its channel and exit quietly. A caught signal,
	// unlike an ignored one, is back to its default in the --exec children.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.newRoot()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return a.exit(cmd, err)
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "pubsub",
		Short: "Publish and subscribe on a pubsub bus from the shell",
		Long: `pubsub publishes messages to, and subscribes to messages from, a pubsub home:
a directory on tmpfs where processes on one machine meet, with no broker. It
speaks the on-disk protocol of the Python package formix-pubsub, so shell
scripts, Go and Python programs share one bus.

A topic is words of [A-Za-z0-9-] separated by '.'. A subscriber's topic may use
'=' for exactly one word and '+' for one or more words: "logs.+" receives
"logs.app" and "logs.app.error".

A work queue shares messages among workers, one worker at a time for each
message, kept until a worker acknowledges it: "pubsub subscribe --queue NAME
PATTERN" is a worker; "pubsub queue" makes, inspects and removes queues.
"pubsub request" publishes a request and waits for its reply, which "pubsub
subscribe --exec CMD --reply" can give.

The home is --home DIR, else $PUBSUB_HOME, else /dev/shm/pubsub.

` + exitStatusHelp,
		Example: `  # in one terminal
  pubsub subscribe 'logs.+'
  # in another
  pubsub publish logs.app 'started'
  pubsub ls

  # see it all at work
  pubsub demo`,
		Args: unknownSubcommand,
		// Without a Run, cobra would print help for an unknown command
		// and exit 0.
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		PersistentPreRun:           func(*cobra.Command, []string) { a.started = true },
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.home, "home", "",
		"the bus's home `DIR` (default $PUBSUB_HOME, else /dev/shm/pubsub)")
	a.homeFlag = root.PersistentFlags().Lookup("home")
	root.AddCommand(
		a.newPublishCmd(),
		a.newSubscribeCmd(),
		a.newRequestCmd(),
		a.newLsCmd(),
		a.newQueueCmd(),
		a.newCleanupCmd(),
		a.newDemoCmd(),
		a.newBenchCmd(),
		a.newBridgeCmd(),
		a.newVersionCmd(),
	)
	return root
}

// unknownSubcommand refuses the arguments of a command that only groups
// others: the first is a command it does not have.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if cmd.HasParent() {
		msg += fmt.Sprintf(" for %q", cmd.CommandPath())
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usageErrorf("%s", msg)
}

// usageError is a command line the command cannot run: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// usage marks err as a usage error.
func usage(err error) error { return &usageError{err} }

// errReported is a failure whose message is already on stderr.
var errReported = errors.New("pubsub: failed (reported above)")

// statusError is an outcome with an exit status of its own (see the
// exit* constants). A nil err means its message is already on stderr.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("pubsub: exit status %d (reported above)", e.status)
	}
	return e.err.Error()
}

func (e *statusError) Unwrap() error { return e.err }

// errStdoutClosed ends a command quietly: nobody reads its output any more,
// as in "pubsub subscribe t | head -1".
var errStdoutClosed = errors.New("pubsub: standard output closed")

// exit prints err, if any, as one line on stderr and returns the exit
// status for it. This is the only place that decides exit statuses.
func (a *app) exit(cmd *cobra.Command, err error) int {
	switch {
	case err == nil, errors.Is(err, errStdoutClosed):
		return exitOK
	case errors.Is(err, errReported):
		return exitFailure
	}
	if se, ok := errors.AsType[*statusError](err); ok {
		if se.err != nil {
			fmt.Fprintln(a.stderr, errorLine(se.err))
		}
		return se.status
	}
	code := exitFailure
	_, isUsage := errors.AsType[*usageError](err)
	if !a.started && cmd != nil {
		// The command line did not get as far as the command: unknown
		// command or flag, bad flag value, wrong number of arguments.
		isUsage = true
		err = fmt.Errorf("%w; see '%s --help'", err, cmd.CommandPath())
	}
	if isUsage {
		code = exitUsage
	}
	fmt.Fprintln(a.stderr, errorLine(err))
	return code
}

// errorLine formats err as one line starting with "pubsub: ".
func errorLine(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if !strings.HasPrefix(msg, "pubsub: ") {
		msg = "pubsub: " + msg
	}
	return msg
}

// homeDir is the home every command works on: --home, else $PUBSUB_HOME,
// else the default.
func (a *app) homeDir() (string, error) {
	switch {
	case a.home != "":
		return a.home, nil
	case a.homeFlag.Changed:
		// --home "" is a mistake, not a request for the default.
		return "", usageErrorf("--home: empty directory name")
	}
	return pubsub.DefaultDir(), nil
}

// openHome opens the home, creating it if need be, or explains in one line
// why it cannot. Only commands that have a reason to make a home use it: a
// subscriber may well start first.
func (a *app) openHome(opts ...pubsub.Option) (*pubsub.Home, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	return a.openDir(dir, opts...)
}

// openExistingHome opens the home for a command that looks at it (ls,
// cleanup, completion) or publishes to it. None of them has a reason to
// make a home, and a mistyped one must not silently become a new, empty
// bus: a home that does not exist is reported, with exit status 3.
func (a *app) openExistingHome(opts ...pubsub.Option) (*pubsub.Home, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	// Open would make a missing home. One that someone removes between
	// this check and Open is made again, which is harmless. Other errors
	// (ENOTDIR, EACCES) are left to Open, whose message says more.
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, &statusError{exitNoHome, a.noHomeError(dir)}
	}
	return a.openDir(dir, opts...)
}

// noHomeError says that there is no home at dir, where dir came from, and
// where the default is.
func (a *app) noHomeError(dir string) error {
	var from string
	switch {
	case a.home != "":
		from = fmt.Sprintf("set by --home; the default is %s, or $PUBSUB_HOME if set", defaultHome())
	case os.Getenv("PUBSUB_HOME") != "":
		from = fmt.Sprintf("set by $PUBSUB_HOME; the default is %s", defaultHome())
	default:
		from = "the default; --home DIR or $PUBSUB_HOME set another"
	}
	return fmt.Errorf("pubsub: no home at %s (%s); a subscriber creates its home", dir, from)
}

// defaultHome is the home when neither --home nor $PUBSUB_HOME is set:
// pubsub.DefaultDir without the variable.
func defaultHome() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm/pubsub"
	}
	return filepath.Join(os.TempDir(), "pubsub")
}

// openDir opens the home dir, creating it if need be.
func (a *app) openDir(dir string, opts ...pubsub.Option) (*pubsub.Home, error) {
	opts = append([]pubsub.Option{pubsub.WithLogger(slog.New(&lineHandler{w: a.stderr}))}, opts...)
	h, err := pubsub.Open(dir, opts...)
	if err != nil {
		return nil, homeError(dir, err)
	}
	return h, nil
}

// homeError says which home could not be opened, and the system call and
// path that failed: "pubsub: home /dev/null/x: mkdir /dev/null: not a
// directory".
func homeError(dir string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("pubsub: home %s: %s %s: %w", dir, pe.Op, pe.Path, pe.Err)
	}
	return fmt.Errorf("pubsub: home %s: %s", dir, strings.TrimPrefix(err.Error(), "pubsub: "))
}

// lineHandler writes the library's warnings as one line each on stderr,
// "pubsub: what: key=value ...". Information (such as a dead channel
// removed while publishing) is not worth a line in a shell script's
// output.
type lineHandler struct {
	mu    sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	sep := ": "
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, "%s%s=%v", sep, a.Key, a.Value)
		sep = " "
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, errorLine(errors.New(b.String())))
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// argCount accepts between min and max arguments, described by want
// ("TOPIC [MESSAGE]").
func argCount(want string, min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		// "queue create", not "create"
		name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
		switch {
		case len(args) < min:
			return fmt.Errorf("%s: missing %s", name, strings.Fields(want)[len(args)])
		case len(args) > max && max == 0:
			return fmt.Errorf("%s: takes no arguments, got %q", name, args)
		case len(args) > max:
			return fmt.Errorf("%s: too many arguments: want %s, got %d", name, want, len(args))
		}
		return nil
	}
}

// stdoutError turns a failed write on stdout into errStdoutClosed when
// the reader went away.
func stdoutError(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		return errStdoutClosed
	}
	return fmt.Errorf("pubsub: write standard output: %w", err)
}

// completeTopics completes the first argument with the topics in the
// home (see homeTopics). publish takes no wildcard: a channel topic with
// one offers what comes before it ("logs.+" offers "logs."), with no space
// after it, for the user to go on typing.
func (a *app) completeTopics(patterns bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		h, err := a.openExistingHome(pubsub.WithLogger(nil))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer h.Close()
		var out []cobra.Completion
		seen := map[string]bool{}
		partial := true // every completion is a prefix that goes on
		for _, t := range homeTopics(h) {
			if !patterns {
				t = concretePrefix(t)
			}
			if t == "" || seen[t] || !strings.HasPrefix(t, prefix) || t == prefix && strings.HasSuffix(t, ".") {
				continue
			}
			seen[t] = true
			partial = partial && strings.HasSuffix(t, ".")
			out = append(out, t)
		}
		directive := cobra.ShellCompDirectiveNoFileComp
		if len(out) > 0 && partial {
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		return out, directive
	}
}

// homeTopics returns the topics the home has channels on, live or dead,
// and the patterns of its queues: those a user is likeliest to type.
func homeTopics(h *pubsub.Home) []string {
	chans, _ := h.Channels()
	queues, _ := h.Queues()
	topics := make([]string, 0, len(chans)+len(queues))
	for _, c := range chans {
		topics = append(topics, c.Topic)
	}
	for _, q := range queues {
		topics = append(topics, q.Topic)
	}
	return topics
}

// concretePrefix returns a channel topic up to its first wildcard word
// ("logs.=.error" gives "logs."), the topic itself if it has none, and ""
// if it starts with one.
func concretePrefix(pattern string) string {
	i := strings.IndexAny(pattern, "=+")
	if i < 0 {
		return pattern
	}
	return pattern[:strings.LastIndexByte(pattern[:i], '.')+1]
}

// isTerminal reports whether r is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	tty := false
	_ = rc.Control(func(fd uintptr) { tty = fsys.IsTerminal(int(fd)) })
	return tty
}

// keepFirst runs f, typically deferred at the end of a command, and makes
// its error the command's unless the command failed already.
func keepFirst(err *error, f func() error) {
	if ferr := f(); ferr != nil && *err == nil {
		*err = ferr
	}
}
