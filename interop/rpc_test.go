//go:build interop

package interop

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub/internal/proctest"
)

const rpcCalls = 100

// sentRequest is what both RPC clients print per request.
type sentRequest struct {
	Corr     string `json:"corr"`
	Content  string `json:"content"` // base64
	N        int    `json:"n"`
	Err      string `json:"err"`
	Attempts int    `json:"attempts"` // Python: publishes for this request (see common.publish_retrying)
}

// servedRequest is what both RPC servers print per request.
type servedRequest struct {
	Corr     string `json:"corr"`
	N        int    `json:"n"`
	Err      string `json:"err"`
	Attempts int    `json:"attempts"`
}

// Case 5: a Go client calls a Python server and a Python client calls a Go
// server, 100 calls each, with response-topic and correlation-id as in the
// seed's RPC example; the Go server also as Home.Reply writes it. The client sends all its requests at once, then
// takes the replies as they come: every reply must match one request by
// its correlation-id, carry its answer, and come exactly once.
//
// A formix-pubsub publisher can lose a message to an id collision (see
// TestPythonIDCollision); the Python scripts publish again when that
// happens, as a careful client would, and say how often.
func TestRequestReply(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		client, server side
		serverMode     string
	}{{goSide, pySide, "rpc-server"}, {pySide, goSide, "rpc-server"}, {pySide, goSide, "respond"}} {
		t.Run(fmt.Sprintf("%v client, %v %s", c.client, c.server, c.serverMode), func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			const topic = "rpc.requests"
			server := start(t, home, c.server, nil, c.serverMode, topic)
			live(t, server)
			client := start(t, home, c.client, nil, "rpc-client", "-n", fmt.Sprint(rpcCalls), topic)
			replyDir := live(t, client)
			replyTopic, _, _ := strings.Cut(filepath.Base(replyDir), "_")

			requests := map[string]string{} // correlation-id -> content
			retries := 0
			for i := range rpcCalls {
				var s sentRequest
				decodeLine(t, client, client.Line(), &s)
				if s.N != 1 || s.Err != "" {
					t.Fatalf("request #%d (%s) reached %d servers: %s", i, s.Corr, s.N, s.Err)
				}
				if _, dup := requests[s.Corr]; dup {
					t.Fatalf("correlation-id %s sent twice", s.Corr)
				}
				c, err := base64.StdEncoding.DecodeString(s.Content)
				if err != nil {
					t.Fatal(err)
				}
				requests[s.Corr] = string(c)
				retries += max(s.Attempts-1, 0)
			}
			replies := readRecords(t, client, rpcCalls)
			expectLine(t, client, fmt.Sprintf("done %d nil", rpcCalls))
			expectExit(t, client)

			answered := map[string]bool{}
			for i, r := range replies {
				if len(r.Headers) != 1 || r.Headers[0][0] != "correlation-id" || r.Headers[0][1] != "str" {
					t.Fatalf("reply #%d: headers %q, want one string correlation-id", i, r.Headers)
				}
				corr := r.Headers[0][2]
				req, ok := requests[corr]
				if !ok {
					t.Fatalf("reply #%d: correlation-id %q matches no request", i, corr)
				}
				if answered[corr] {
					t.Fatalf("reply #%d: request %q answered twice", i, corr)
				}
				answered[corr] = true
				checkMessage(t, fmt.Sprintf("reply #%d", i), r, msg{
					Topic: replyTopic, Headers: r.Headers, Content: []byte("re:" + req),
				})
			}

			for i := range rpcCalls {
				var s servedRequest
				decodeLine(t, server, server.Line(), &s)
				if s.N != 1 || s.Err != "" {
					t.Fatalf("server: reply #%d (%s) reached %d channels: %s", i, s.Corr, s.N, s.Err)
				}
				retries += max(s.Attempts-1, 0)
			}
			server.Signal(syscall.SIGTERM)
			want := fmt.Sprintf("done %d -1", rpcCalls) // subscribe() returns -1 on a signal
			if c.server == goSide {
				want = fmt.Sprintf("done %d signal:terminated", rpcCalls)
			}
			expectLine(t, server, want)
			expectExit(t, server)
			if retries > 0 {
				t.Logf("formix-pubsub lost %d messages to id collisions; the scripts published them again", retries)
			}
		})
	}
}

// Home.Request and RequestMany against formix-pubsub servers: 100 requests
// at once from one Go process, each answered once; and RequestMany
// collecting, for each of 20 requests, one reply from each of two Python
// servers and a Go one, ending as the last comes in.
func TestRequestAPI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		servers []side
		calls   int
		many    bool
	}{
		{"Request, Python server", []side{pySide}, 100, false},
		{"RequestMany, two Python servers and a Go one", []side{pySide, pySide, goSide}, 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			const topic = "rpc.api"
			var servers []*proctest.Proc
			for _, s := range c.servers {
				mode := "rpc-server"
				if s == goSide {
					mode = "respond"
				}
				p := start(t, home, s, nil, mode, topic)
				live(t, p)
				servers = append(servers, p)
			}
			args := []string{"-n", fmt.Sprint(c.calls), topic}
			if c.many {
				args = append([]string{"-many"}, args...)
			}
			client := start(t, home, goSide, nil, "request", args...)
			replies := readRecords(t, client, c.calls*len(c.servers))
			expectLine(t, client, fmt.Sprintf("done %d nil", c.calls))
			expectExit(t, client)
			per := map[int]int{}
			for i, r := range replies {
				per[r.Ch]++
				checkMessage(t, fmt.Sprintf("reply #%d", i), r, msg{
					Topic: r.Topic, Headers: r.Headers, Content: []byte(fmt.Sprintf("re:call %d from Go", r.Ch)),
				})
			}
			for i := range c.calls {
				if per[i] != len(c.servers) {
					t.Fatalf("request %d got %d replies, want %d", i, per[i], len(c.servers))
				}
			}
			for _, p := range servers {
				for range c.calls {
					var s servedRequest
					decodeLine(t, p, p.Line(), &s)
					if s.N != 1 || s.Err != "" {
						t.Fatalf("server: reply to %s reached %d channels: %s", s.Corr, s.N, s.Err)
					}
				}
				p.Signal(syscall.SIGTERM)
				expectExit(t, p)
			}
		})
	}
}
