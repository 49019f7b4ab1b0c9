//go:build interop

package interop

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/proctest"
)

// fifoIDs is how many ids a shrunk FIFO holds: one page of 8-byte ids.
const fifoIDs = 4096 / 8

// shrinkFIFO sets the pipe buffer of a channel's FIFO to one page, so it
// fills after 512 ids instead of 8,192. The size belongs to the pipe and
// stays while its reader keeps it open.
func shrinkFIFO(t *testing.T, dir string) {
	t.Helper()
	fd, err := unix.Open(filepath.Join(dir, "queue"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatalf("F_SETPIPE_SZ: %v", err)
	}
	if n, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0); err != nil || n != 4096 {
		t.Fatalf("F_GETPIPE_SZ: %d, %v", n, err)
	}
}

// eagain is what formix-pubsub logs when a channel's FIFO is full: the id
// is lost, and the channel was counted already.
var eagain = regexp.MustCompile(`^Failed to publish message \d+ to (.+)/queue: \[Errno 11\] `)

// A channel whose FIFO is full, one of each language, while a publisher of
// each language goes on. What the package doc and FORMAT.md say, shown
// across processes:
//   - a Python publisher counts the channel as reached and logs EAGAIN; the
//     message file is in the channel, its id is not in the FIFO. A Go
//     channel finds those files and delivers every message (the ones past
//     the full FIFO not in publishing order: it takes them by id); a
//     Python channel never returns them.
//   - a Go publisher counts a full Go channel as reached (for the same
//     reason), and reports a full Python channel missed with ErrFIFOFull,
//     taking the file back.
func TestFullFIFO(t *testing.T) {
	t.Parallel()
	const total = fifoIDs + 40
	for _, pub := range []side{pySide, goSide} {
		t.Run(pub.String()+" publisher", func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			subs := map[side]*proctest.Proc{}
			dirs := map[side]string{}
			for _, s := range []side{goSide, pySide} {
				subs[s] = start(t, home, s, nil, "sub", "-mode", "wait", "flood")
			}
			for _, s := range []side{goSide, pySide} {
				dirs[s] = live(t, subs[s])
				shrinkFIFO(t, dirs[s])
			}

			msgs := make([]msg, total)
			for i := range msgs {
				msgs[i] = msg{Topic: "flood", Content: []byte(strconv.Itoa(i))}
			}
			res, log := publish(t, home, pub, nil, msgs)
			// want[s]: the messages each channel must deliver, in order
			// for as many as its FIFO announced.
			want := map[side][]int{}
			announced := map[side]int{}
			overflow := map[side]int{}
			for i, r := range res {
				reached := map[side]bool{goSide: true, pySide: true}
				switch pub {
				case pySide:
					for _, w := range r.Warnings {
						if m := collision.FindStringSubmatch(w); m != nil {
							reached[sideOf(dirs, m[1])] = false
							continue
						}
						m := eagain.FindStringSubmatch(w)
						if m == nil {
							t.Fatalf("Python publish #%d logged %q", i, w)
						}
						overflow[sideOf(dirs, m[1])]++
					}
					n := 0
					for _, ok := range reached {
						if ok {
							n++
						}
					}
					if r.N != n || r.Err != "" {
						t.Fatalf("Python publish #%d: reached %d channels (warnings %q), want %d; log:\n%s", i, r.N, r.Warnings, n, log)
					}
				case goSide:
					wantN, wantErr := 2, ""
					if announced[pySide] == fifoIDs {
						wantN, wantErr = 1, "FIFO full"
						reached[pySide] = false
					}
					if r.N != wantN || (wantErr == "") != (r.Err == "") || !regexp.MustCompile(wantErr).MatchString(r.Err) {
						t.Fatalf("Go publish #%d: reached %d channels, err %q; want %d, %q", i, r.N, r.Err, wantN, wantErr)
					}
				}
				for s, ok := range reached {
					if ok {
						want[s] = append(want[s], i)
						if announced[s] < fifoIDs {
							announced[s]++
						}
					}
				}
			}
			if pub == pySide {
				for _, s := range []side{goSide, pySide} {
					if got := len(want[s]) - fifoIDs; overflow[s] != got {
						t.Errorf("%v channel: %d EAGAIN warnings, want %d", s, overflow[s], got)
					}
				}
			}

			for _, s := range []side{goSide, pySide} {
				subs[s].Signal(syscall.SIGUSR1)
				subs[s].Signal(syscall.SIGTERM)
				recs, done := readUntilDone(t, subs[s])
				expectExit(t, subs[s])
				got := make([]int, len(recs))
				for i, r := range recs {
					if r.Err != "" {
						t.Fatalf("%v channel: %s", s, r.Err)
					}
					got[i], _ = strconv.Atoi(string(mustBase64(t, *r.Content)))
				}
				if done != fmt.Sprintf("done %d signal", len(recs)) {
					t.Errorf("%v channel: %q", s, done)
				}
				// In order for as long as the FIFO announced them.
				head := min(len(got), fifoIDs)
				if !slices.Equal(got[:head], want[s][:min(len(want[s]), fifoIDs)]) {
					t.Errorf("%v channel: first %d messages %v, want %v", s, head, got[:head], want[s][:min(len(want[s]), fifoIDs)])
				}
				wantAll := want[s]
				if s == pySide && pub == pySide {
					wantAll = want[s][:fifoIDs] // the rest are files whose ids were lost
				}
				sorted := slices.Sorted(slices.Values(got))
				if !slices.Equal(sorted, wantAll) {
					t.Errorf("%v channel from %v publisher: got %d messages, want %d", s, pub, len(got), len(wantAll))
				}
				if s == goSide && pub == pySide && len(got) > fifoIDs && !slices.IsSorted(got[fifoIDs:]) {
					t.Logf("Go channel: the %d messages past the full FIFO came by id, not in publishing order", len(got)-fifoIDs)
				}
			}
		})
	}
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sideOf(dirs map[side]string, dir string) side {
	for s, d := range dirs {
		if d == dir {
			return s
		}
	}
	panic("no channel " + dir)
}
