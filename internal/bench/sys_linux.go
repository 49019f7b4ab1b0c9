package bench

import (
	"errors"
	"os"
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
