package bench

import (
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A worker started on a CPU runs there alone, and the thread that forked
// it goes back to the CPUs it had.
func TestStartOnPinsTheChildOnly(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := 0; i < len(before)*64; i++ {
		if before.IsSet(i) {
			cpu = i // the last this process may use
		}
	}
	var out strings.Builder
	cmd := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status")
	cmd.Stdout = &out
	if err := startOn(cmd, cpu); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), "Cpus_allowed_list:\t"+strconv.Itoa(cpu); got != want {
		t.Fatalf("child: %q, want %q", got, want)
	}
	var after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("the forking thread kept the child's CPU: %v, had %v", after, before)
	}
}

func TestTwoCPUs(t *testing.T) {
	first, second, err := twoCPUs()
	if runtime.NumCPU() < 2 {
		if err == nil {
			t.Fatalf("twoCPUs on one CPU: %d, %d and no error", first, second)
		}
		return
	}
	if err != nil || first < 0 || second <= first {
		t.Fatalf("twoCPUs = %d, %d, %v", first, second, err)
	}
}
