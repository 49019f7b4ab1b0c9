package engine

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseChannelName(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		pid     int
		ok      bool
	}{
		{"news.=_abcdefghijkl_123", "news.=", 123, true},
		{"a_b_c_42", "a", 42, true}, // formix-pubsub takes the first and last parts
		{"a_b_notanumber", "", 0, false},
		{"a_b_-5", "", 0, false},
		{"a_b_+5", "", 0, false},
		{"a_b_0", "", 0, false},
		{"a_5", "", 0, false},
		{"_x_5", "", 0, false},
		{"a_b_", "", 0, false},
		{"tmp", "", 0, false},
		{"", "", 0, false},
	}
	for _, c := range cases {
		p, pid, ok := ParseChannelName(c.name)
		if p != c.pattern || pid != c.pid || ok != c.ok {
			t.Errorf("ParseChannelName(%q) = %q, %d, %v; want %q, %d, %v", c.name, p, pid, ok, c.pattern, c.pid, c.ok)
		}
	}
}

// FuzzParseChannelName: directory names in the home are written by anyone.
func FuzzParseChannelName(f *testing.F) {
	for _, s := range []string{"news.=_abcdefghijkl_123", "a_b_notanumber", "a__1", "_", "a_b_99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, pid, ok := ParseChannelName(name)
		if !ok {
			return
		}
		if pid <= 0 || p == "" || strings.Contains(p, "_") || strings.Count(name, "_") < 2 {
			t.Fatalf("ParseChannelName(%q) = %q, %d", name, p, pid)
		}
		last, err := strconv.Atoi(name[strings.LastIndexByte(name, '_')+1:])
		if !strings.HasPrefix(name, p+"_") || err != nil || last != pid {
			t.Fatalf("ParseChannelName(%q) = %q, %d: not the first and last parts", name, p, pid)
		}
	})
}

func TestParseLock(t *testing.T) {
	cases := []struct {
		text    string
		inline  bool
		without []string
	}{
		{LockLine(nil), true, nil},
		{"pubsub-go 1 inline\n", true, nil}, // as every version writes it
		{LockLine([]string{"pubsub-origin", "X-Y"}), true, []string{"pubsub-origin", "X-Y"}},
		{"pubsub-go 1\n", false, nil},
		{"pubsub-go 1 inline without= without=a\x01b without=ok\n", true, []string{"ok"}},
		{"pubsub-go 1\nwithout=next-line inline\n", false, nil},
		{"pubsub-go 1 inline without=cut", true, nil}, // no newline: a short read may have cut the name
		{"inline without=k\n", false, nil},            // not a lock file this version wrote
		{"pubsub-go 2 inline without=k\n", false, nil},
		{"", false, nil},
	}
	for _, c := range cases {
		inline, without := ParseLock([]byte(c.text))
		if inline != c.inline || !slices.Equal(without, c.without) {
			t.Errorf("ParseLock(%q) = %v, %q; want %v, %q", c.text, inline, without, c.inline, c.without)
		}
	}
}

// FuzzParseLock: a lock file is written by another process, and may be
// anything. Each name parseLock returns is one WithoutHeader accepts, and
// what lockLine writes reads back the same.
func FuzzParseLock(f *testing.F) {
	f.Add([]byte(LockLine([]string{"pubsub-origin"})))
	f.Add([]byte("pubsub-go 1 inline without=a without=b\n"))
	f.Add([]byte("without=\xff inline"))
	f.Fuzz(func(t *testing.T, text []byte) {
		_, without := ParseLock(text)
		for _, name := range without {
			if !ValidRefusedHeader(name) {
				t.Fatalf("ParseLock(%q) returned the name %q, which WithoutHeader refuses", text, name)
			}
		}
		if len(without) <= 8 {
			inline, again := ParseLock([]byte(LockLine(without)))
			if !inline || !slices.Equal(again, without) {
				t.Fatalf("LockLine(%q) reads back as %v, %q", without, inline, again)
			}
		}
	})
}

// TestBridgePaths pins the names of a bridge's files in a home: another
// version of the bridge must find them.
func TestBridgePaths(t *testing.T) {
	if got, want := BridgeLockPath("/h", "a.b"), "/h/tmp/bridge-a.b.lock"; got != want {
		t.Errorf("lock file %s, want %s", got, want)
	}
	if got, want := BridgeSeqPath("/h", "a.b", "host-1"), "/h/tmp/bridge-a.b-host-1.seq"; got != want {
		t.Errorf("sequence file %s, want %s", got, want)
	}
}

// Cleanup leaves a bridge's files alone, however old, whatever the
// durable name (which may hold '_', as channel names do).
func TestCleanupLeavesBridgeFiles(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	old := time.Now().Add(-time.Hour)
	paths := []string{BridgeLockPath(dir, "p"), BridgeSeqPath(dir, "p", "host_1_2"), BridgeSeqPath(dir, "a.b", "x")}
	for _, p := range paths {
		if err := os.WriteFile(p, []byte("1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := h.Cleanup(false)
	if err != nil || len(removed) != 0 {
		t.Fatalf("Cleanup = %v, %v; want nothing removed", removed, err)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("bridge file %s: %v", p, err)
		}
	}
}

// Queue names are written without fmt; they must read as fmt wrote them.
func TestQueueNamesAsFmtWroteThem(t *testing.T) {
	deadline := time.Unix(1_800_000_000, 123)
	for _, k := range []queueKey{{0, 0}, {1, 2}, {0x0123456789abcdef, 0xfedcba9876543210}, {^uint64(0), 42}} {
		if got, want := k.String(), fmt.Sprintf("%016x%016x", k.entered, k.id); got != want {
			t.Errorf("key %v: %s, want %s", k, got, want)
		}
		if got, want := delayedName(deadline, k, 3), fmt.Sprintf("%016x.%016x%016x.3", deadline.UnixNano(), k.entered, k.id); got != want {
			t.Errorf("delayed %s, want %s", got, want)
		}
		name := claimedName(k, 7, "w1a2", deadline)
		if want := fmt.Sprintf("%016x%016x.%d.%s.%016x", k.entered, k.id, 7, "w1a2", deadline.UnixNano()); name != want {
			t.Errorf("claimed %s, want %s", name, want)
		}
	}
}
