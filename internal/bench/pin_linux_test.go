package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A worker started on a CPU runs there alone, and no thread of this
// process is left on that CPU alone.
func TestStartOnPinsTheChildOnly(t *testing.T) {
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mask); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := 0; i < len(mask)*64; i++ {
		if mask.IsSet(i) {
			cpu = i // the last this process may use
		}
	}
	want := allowedList(t, "/proc/self/status")
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
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range tasks {
		if got := allowedList(t, status); got != want {
			t.Errorf("%s: CPUs %s, want the process's %s", status, got, want)
		}
	}
}

// allowedList returns the Cpus_allowed_list of a /proc status file.
func allowedList(t *testing.T, status string) string {
	t.Helper()
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s: no Cpus_allowed_list", status)
	return ""
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
