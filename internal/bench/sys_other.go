//go:build !unix

package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// On a system without FIFOs (Windows) the bus does not run, so neither
// does a measurement: these let the lab compile, and the floors say why
// they cannot run. --from still prints a saved report.

// cpuTime returns 0: the CPU figures of a run are zero.
func cpuTime() int64 { return 0 }

func kernelRelease() string { return "" }

func maxRSSKiB(*os.ProcessState) int64 { return 0 }

func workerAttr() *syscall.SysProcAttr { return nil }

func onTmpfs(string) bool { return false }

// errNoFloors is the error of every floor worker.
var errNoFloors = fmt.Errorf("the floors need FIFOs and Unix file system calls, which %s does not have", runtime.GOOS)

func (w *Worker) fifoSub(context.Context) (workerResult, error) { return workerResult{}, errNoFloors }
func (w *Worker) fifoPub() (workerResult, error)                { return workerResult{}, errNoFloors }
func (w *Worker) fileSub(context.Context) (workerResult, error) { return workerResult{}, errNoFloors }
func (w *Worker) filePub() (workerResult, error)                { return workerResult{}, errNoFloors }
