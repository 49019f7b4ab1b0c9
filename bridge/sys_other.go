//go:build !unix

package bridge

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// errNotUnix is what the bridge's system calls return where there is no
// Unix: the home it bridges needs one too.
var errNotUnix = fmt.Errorf("not supported on %s: the bridge needs a Unix system: %w", runtime.GOOS, errors.ErrUnsupported)

func fileID(path string) (dev, ino uint64, err error) {
	return 0, 0, &os.PathError{Op: "stat", Path: path, Err: errNotUnix}
}

func openNoFollow(path string) (*os.File, error) {
	return nil, &os.PathError{Op: "open", Path: path, Err: errNotUnix}
}

func tryLock(f *os.File) (busy bool, err error) {
	return false, &os.PathError{Op: "flock", Path: f.Name(), Err: errNotUnix}
}
