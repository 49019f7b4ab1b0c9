package bench

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// twoCPUs returns the first two CPUs this process may run on.
func twoCPUs() (first, second int, err error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return -1, -1, err
	}
	var cpus []int
	for i := 0; i < len(set)*64 && len(cpus) < 2; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return -1, -1, errors.New("it needs two CPUs, and this process may run on one")
	}
	return cpus[0], cpus[1], nil
}

// startOn starts cmd on CPU cpu alone, or anywhere when cpu is negative.
// The child takes the CPU mask of the thread that forks it, and every
// thread it makes takes it in turn: the mask is set on a locked thread
// around the fork. Should it fail to be set back, the worker is stopped
// and the thread ends with its goroutine rather than serve others on one
// CPU.
func startOn(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var old, one unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err := cmd.Start()
		if rerr := unix.SchedSetaffinity(0, &old); rerr != nil {
			if err == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				err = fmt.Errorf("setting this thread's CPUs back: %w", rerr)
			}
			errc <- err
			return // still locked: the thread goes with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}
