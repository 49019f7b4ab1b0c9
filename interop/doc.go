// Package interop holds the interoperability tests between this library
// and the real formix-pubsub 1.0.0 from PyPI. It has no code of its own:
// the tests are behind the build tag "interop", so that `go test ./...`
// does not need Python.
//
// Every test runs real processes on a fresh PUBSUB_HOME under /dev/shm:
// the Go peer (internal/gopeer) and small Python scripts (testdata/*.py)
// that import the real package, both speaking one line protocol ("live
// DIR", one JSON record per message, "done ..."). Run them with
//
//	make interop
//
// which creates .venv with formix-pubsub==1.0.0 and runs
//
//	PUBSUB_PYTHON=$PWD/.venv/bin/python go test -race -count=1 -tags interop ./interop/...
//
// Without PUBSUB_PYTHON, or with an interpreter that lacks formix-pubsub
// 1.0.0, the suite prints "interop: SKIPPED: <reason>" and passes (go test
// shows the line with -v, and "[no tests to run]" without it), except
// under CI=true, where it fails. TestWildcards checks the wildcard table
// of docs/INTEROP.md against what it observes, and rewrites it when run
// with -update.
package interop
