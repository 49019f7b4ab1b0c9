//go:build unix

package bench

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/engine"
)

// The floors use plain blocking system calls: no poller, no decoding, no
// checks beyond what a message needs to arrive.

// openDir opens the directory path, refusing a symbolic link.
func openDir(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// closeFD closes fd, unless it is -1.
func closeFD(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

// writeFile creates the file name in dirFD, writes content and closes it.
func writeFile(dirFD int, name string, content []byte) error {
	fd, err := unix.Openat(dirFD, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	err = writeFull(fd, content)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: name, Err: err}
	}
	return nil
}

// openFIFO makes (if make) and opens the FIFO path for blocking reads,
// with a write end of our own held open so that a read never sees end of
// file; or, for a writer, opens it for blocking writes.
func openFIFO(path string, reader bool) (fd, keep int, err error) {
	if !reader {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		return fd, -1, err
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return -1, -1, &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	if fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
		return -1, -1, err
	}
	if keep, err = unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
		unix.Close(fd)
		return -1, -1, err
	}
	return fd, keep, unix.SetNonblock(fd, false)
}

func readRetry(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func writeFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// readUntil runs read until the receiver is done or ctx is. A blocking
// read(2) does not return on a signal (Go restarts it), so a subscriber
// that waits too long is killed instead; ctx is checked between reads.
func readUntil(ctx context.Context, r *receiver, read func() error) error {
	for !r.done() && ctx.Err() == nil {
		if err := read(); err != nil {
			return err
		}
	}
	return nil
}

// fifoSub reads records of 8 bytes of id and --size bytes of content from
// a bare FIFO.
func (w *Worker) fifoSub(ctx context.Context) (workerResult, error) {
	fd, keep, err := openFIFO(filepath.Join(w.Dir, "fifo"), true)
	if err != nil {
		return workerResult{}, err
	}
	defer unix.Close(fd)
	defer unix.Close(keep)
	r := newReceiver(w)
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	rec := 8 + w.Size
	buf := make([]byte, max(64<<10, 4*rec))
	have := 0
	err = readUntil(ctx, r, func() error {
		n, err := readRetry(fd, buf[have:])
		if err != nil {
			return err
		}
		now := w.clock.now()
		have += n
		off := 0
		for ; have-off >= rec; off += rec {
			r.add(buf[off+8:off+rec], now)
		}
		have = copy(buf, buf[off:have])
		return nil
	})
	if err != nil {
		return workerResult{}, err
	}
	return r.finish(), w.writeSamples(r.samples)
}

func (w *Worker) fifoPub() (workerResult, error) {
	fd, _, err := openFIFO(filepath.Join(w.Dir, "fifo"), false)
	if err != nil {
		return workerResult{}, err
	}
	defer unix.Close(fd)
	rec := make([]byte, 8+w.Size)
	content := w.content()
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	return w.sender(content, func(seq int) error {
		binary.BigEndian.PutUint64(rec, uint64(seq)+1)
		copy(rec[8:], content)
		return writeFull(fd, rec)
	}, nil)
}

// fileSub is the minimal file-per-message subscriber: it reads ids from
// its FIFO in batches, and for each opens, reads, closes and unlinks the
// file of that name in its directory.
func (w *Worker) fileSub(ctx context.Context) (workerResult, error) {
	dir := filepath.Join(w.Dir, "chan"+strconv.Itoa(w.Index))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return workerResult{}, err
	}
	dirFD, err := openDir(dir)
	if err != nil {
		return workerResult{}, err
	}
	defer unix.Close(dirFD)
	fd, keep, err := openFIFO(filepath.Join(dir, engine.QueueName), true)
	if err != nil {
		return workerResult{}, err
	}
	defer unix.Close(fd)
	defer unix.Close(keep)
	r := newReceiver(w)
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	ids := make([]byte, 4096)
	have := 0
	content := make([]byte, w.Size)
	var name []byte
	err = readUntil(ctx, r, func() error {
		n, err := readRetry(fd, ids[have:])
		if err != nil {
			return err
		}
		have += n
		off := 0
		for ; have-off >= 8; off += 8 {
			name = strconv.AppendUint(name[:0], binary.BigEndian.Uint64(ids[off:]), 10)
			mfd, err := unix.Openat(dirFD, string(name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return &os.PathError{Op: "open", Path: string(name), Err: err}
			}
			got := 0
			for got < len(content) {
				n, err := readRetry(mfd, content[got:])
				if err != nil || n == 0 {
					break
				}
				got += n
			}
			unix.Close(mfd)
			if err := unix.Unlinkat(dirFD, string(name), 0); err != nil {
				return &os.PathError{Op: "unlink", Path: string(name), Err: err}
			}
			r.add(content[:got], w.clock.now())
		}
		have = copy(ids, ids[off:have])
		return nil
	})
	if err != nil {
		return workerResult{}, err
	}
	return r.finish(), w.writeSamples(r.samples)
}

// filePub is the minimal file-per-message publisher: create the file in
// the subscriber's directory, write, close, and write its id into the
// FIFO it keeps open; with --reach N, into each of N subscribers'
// directories in turn. With --tmpfile it stages the file as Publish does
// for one channel: O_TMPFILE in a staging directory, write, link it into
// the subscriber's directory, close.
func (w *Worker) filePub() (workerResult, error) {
	type channel struct{ dirFD, fifo int }
	chans := make([]channel, w.Reach)
	for i := range chans {
		chans[i] = channel{-1, -1}
	}
	defer func() {
		for _, c := range chans {
			closeFD(c.dirFD)
			closeFD(c.fifo)
		}
	}()
	for i := range chans {
		dir := filepath.Join(w.Dir, "chan"+strconv.Itoa(i))
		var err error
		if chans[i].dirFD, err = openDir(dir); err != nil {
			return workerResult{}, err
		}
		if chans[i].fifo, _, err = openFIFO(filepath.Join(dir, engine.QueueName), false); err != nil {
			return workerResult{}, err
		}
	}
	tmpFD := -1
	if w.Tmpfile {
		var err error
		if tmpFD, err = openStaging(filepath.Join(w.Dir, engine.TmpDir)); err != nil {
			return workerResult{}, err
		}
		defer unix.Close(tmpFD)
	}
	content := w.content()
	var rec [8]byte
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	return w.sender(content, func(seq int) error {
		id := uint64(seq) + 1
		name := strconv.FormatUint(id, 10)
		binary.BigEndian.PutUint64(rec[:], id)
		for _, c := range chans {
			var err error
			if tmpFD >= 0 {
				err = stageTmpfile(tmpFD, c.dirFD, name, content)
			} else {
				err = writeFile(c.dirFD, name, content)
			}
			if err != nil {
				return err
			}
			if err := writeFull(c.fifo, rec[:]); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}
