//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package fsys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// Supported reports whether this platform can run the bus: it has no
// FIFOs.
const Supported = false

// Backend names the backend this build uses.
const Backend = "unsupported"

// PipeBuf is what POSIX promises; nothing is written here.
const PipeBuf = 512

// ErrUnsupported is what every call fails with on this platform.
var ErrUnsupported = fmt.Errorf("the bus runs on Linux, macOS and the BSDs, not on %s: %w", runtime.GOOS, errors.ErrUnsupported)

var (
	ErrWouldBlock = errors.New("would block")
	ErrNoReader   = errors.New("no reader")
	ErrBrokenPipe = errors.New("broken pipe")
	ErrExist      = os.ErrExist
	ErrNotEmpty   = errors.New("directory not empty")
	ErrLoop       = errors.New("symbolic link")
	ErrNotDir     = errors.New("not a directory")
	ErrAccess     = os.ErrPermission
	ErrNotFIFO    = errors.New("not a FIFO")
)

func OutOfResources(err error) bool { return false }
func NoSpace(err error) bool        { return false }

func OpenDir(path string) (int, error)                            { return -1, ErrUnsupported }
func OpenDirAt(dirfd int, name string) (int, error)               { return -1, ErrUnsupported }
func OpenFile(dirfd int, name string) (int, error)                { return -1, ErrUnsupported }
func CreateExcl(dirfd int, name string, mode uint32) (int, error) { return -1, ErrUnsupported }
func Close(fd int)                                                {}
func Fstat(fd int) (Stat, error)                                  { return Stat{}, ErrUnsupported }
func Fstatat(dirfd int, name string) (Stat, error)                { return Stat{}, ErrUnsupported }
func Lstat(path string) (Stat, error)                             { return Stat{}, ErrUnsupported }
func Mkdirat(dirfd int, name string, mode uint32) error           { return ErrUnsupported }
func Fchmod(fd int, mode uint32) error                            { return ErrUnsupported }
func Fchown(fd, uid, gid int) error                               { return ErrUnsupported }
func Renameat(olddirfd int, oldname string, newdirfd int, newname string) error {
	return ErrUnsupported
}
func RenameNoReplace(olddirfd int, oldname string, newdirfd int, newname string) error {
	return ErrUnsupported
}
func Linkat(olddirfd int, oldname string, newdirfd int, newname string) error {
	return ErrUnsupported
}
func Unlinkat(dirfd int, name string) error                       { return ErrUnsupported }
func Read(fd int, b []byte) (int, error)                          { return 0, ErrUnsupported }
func Pread(fd int, b []byte, off int64) (int, error)              { return 0, ErrUnsupported }
func WaitReadable(fd int, timeout time.Duration) (bool, error)    { return false, ErrUnsupported }
func ReadBlocking(fd int, b []byte, until time.Time) (int, error) { return 0, ErrUnsupported }
func WriteAt(fd int, b []byte, off int64) error                   { return ErrUnsupported }
func ReadDirNames(dirfd int) ([]string, error)                    { return nil, ErrUnsupported }
func EachName(dirfd int, f func(name string)) error               { return ErrUnsupported }
func Pending(fd int) int                                          { return 0 }
func OpenFIFOWriter(dirfd int, name string) (int, error)          { return -1, ErrUnsupported }
func OpenFIFOPeek(dirfd int, name string) (int, error)            { return -1, ErrUnsupported }
func WriteRecord(fd int, rec []byte) error                        { return ErrUnsupported }
func ProcessAlive(pid int) bool                                   { return false }
func Lock(dirfd int, name string, mode uint32) (int, error)       { return -1, ErrUnsupported }
func LockHeld(dirfd int, name string) (held, known bool, err error) {
	return false, false, ErrUnsupported
}
func MaxFiles() int { return 0 }
func ReadSmall(dirfd int, name string, max int) ([]byte, error) {
	return nil, ErrUnsupported
}
func OpenFIFOReader(dirfd int, name string) (*os.File, int, error) {
	return nil, -1, ErrUnsupported
}
func EntryCount(dirfd int) (int, bool)                      { return 0, false }
func IsTmpfs(dirfd int) bool                                { return false }
func Mkfifo(dirfd int, dir, name string, mode uint32) error { return ErrUnsupported }
func WaitWritable(fd int, d time.Duration) bool             { return false }
func Created(dirfd int) time.Time                           { return time.Time{} }
func ProbeLinkFD(dirfd int, name string)                    {}
func LinkFD(fd, newdirfd int, newname string) error         { return ErrUnsupported }
func CreateUnnamed(dirfd int, mode uint32) (int, error)     { return -1, ErrUnsupported }
func NoTmpfile(err error) bool                              { return false }
func WriteAll(fd int, bufs ...[]byte) error                 { return ErrUnsupported }

func StatPath(path string) (Stat, error) { return Stat{}, ErrUnsupported }
func OpenNoFollow(path string, mode os.FileMode) (*os.File, error) {
	return nil, &os.PathError{Op: "open", Path: path, Err: ErrUnsupported}
}
func TryLock(f *os.File) (busy bool, err error)                 { return false, ErrUnsupported }
func BootID() ([]byte, error)                                   { return nil, ErrUnsupported }
func IsTerminal(fd int) bool                                    { return false }
func WaitReaderGone(ctx context.Context, fd int) bool           { return false }
func MapShared(fd, size int) ([]byte, error)                    { return nil, ErrUnsupported }
func Unmap(b []byte)                                            {}
func Truncate(fd int, size int64) error                         { return ErrUnsupported }
func RemoveDirAt(dirfd int, name string) error                  { return ErrUnsupported }
func OpenFileRW(dirfd int, name string) (int, error)            { return -1, ErrUnsupported }
func LockWait(dirfd int, name string, mode uint32) (int, error) { return -1, ErrUnsupported }
func GroupAttr(dieWithParent bool) *syscall.SysProcAttr         { return nil }
func SignalGroup(pgid int, sig syscall.Signal) error            { return ErrUnsupported }
func GroupExists(pgid int) bool                                 { return false }
