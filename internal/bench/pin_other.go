//go:build !linux

package bench

import (
	"fmt"
	"os/exec"
	"runtime"
)

// errNoPin is what --pin says outside Linux.
var errNoPin = fmt.Errorf("setting a worker's CPU is done on Linux only, not on %s", runtime.GOOS)

func twoCPUs() (int, int, error) { return -1, -1, errNoPin }

func startOn(cmd *exec.Cmd, cpu int) error {
	if cpu >= 0 {
		return errNoPin
	}
	return cmd.Start()
}
