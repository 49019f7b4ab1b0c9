package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// workerAttr puts a worker in a process group of its own, so that a ^C
// reaches only pubsub bench, which stops the workers and removes the
// home; and has the kernel kill it if pubsub bench dies.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// onTmpfs reports whether the directory path is on tmpfs.
func onTmpfs(path string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(path, &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC
}

// openStaging makes the directory path and opens it for stageTmpfile.
func openStaging(path string) (int, error) {
	if err := os.Mkdir(path, 0o700); err != nil {
		return -1, err
	}
	return openDir(path)
}

// stageTmpfile writes content to the file name in dirFD as Publish stages
// a message for one channel: an O_TMPFILE in the staging directory
// tmpFD, written, linked into dirFD, closed.
func stageTmpfile(tmpFD, dirFD int, name string, content []byte) error {
	fd, err := unix.Openat(tmpFD, ".", unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	err = writeFull(fd, content)
	if err == nil {
		err = unix.Linkat(fd, "", dirFD, name, unix.AT_EMPTY_PATH)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) {
			// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10.
			err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dirFD, name, unix.AT_SYMLINK_FOLLOW)
		}
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: name, Err: err}
	}
	return nil
}

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
