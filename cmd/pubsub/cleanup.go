package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) newCleanupCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove dead channels and stale staging files",
		Long: `Remove what dead processes left in the home: channels whose process is gone
(with the messages still pending in them), channels half created or half
removed, and staging files of publishers that died. Each path removed is
printed on stdout, "removed PATH"; with --dry-run, "would remove PATH", and
nothing is removed.

A Go channel is dead when nobody holds the lock in its directory; any other
when its pid is gone. Publishers also remove the dead channels they meet, so
cleanup is for an operator, or for a home nobody publishes to.

A home that does not exist is not made: cleanup says so and exits 3.`,
		Example: `  pubsub cleanup --dry-run
  pubsub cleanup
  PUBSUB_HOME=/tmp/bus pubsub cleanup`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.cleanup(dryRun)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be removed, and remove nothing")
	return cmd
}

func (a *app) cleanup(dryRun bool) error {
	h, err := a.openExistingHome()
	if err != nil {
		return err
	}
	defer h.Close()
	verb := "removed"
	cleanup := h.Cleanup
	if dryRun {
		verb = "would remove"
		cleanup = h.CleanupDryRun
	}
	// Cleanup returns what it removed along with what it could not.
	paths, err := cleanup()
	for _, p := range paths {
		if _, werr := fmt.Fprintf(a.stdout, "%s %s\n", verb, p); werr != nil {
			return stdoutError(werr)
		}
	}
	if err == nil && len(paths) == 0 {
		fmt.Fprintf(a.stderr, "pubsub: nothing to clean up in %s\n", h.Dir())
	}
	return err
}
