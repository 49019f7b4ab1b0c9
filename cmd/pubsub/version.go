package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of pubsub and of Go it was built with",
		Long: `Print the module version pubsub was built from ("(devel)" for a build from a
checkout), the Go version and the platform.`,
		Example: `  pubsub version
  go install github.com/pubsub-go/pubsub/cmd/pubsub@latest && pubsub version`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := "(devel)"
			if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
				v = info.Main.Version
			}
			if _, err := fmt.Fprintf(a.stdout, "pubsub %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
				return stdoutError(err)
			}
			return nil
		},
	}
}
