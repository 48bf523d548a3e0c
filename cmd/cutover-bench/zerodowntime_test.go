package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

// flakyServer answers "v1" on each connection until closeAfter requests
// were answered on it, then reads the next request and closes the
// connection without answering — what a proxy that drops keep-alive
// connections during a switch does. status is the answer's status.
func flakyServer(t *testing.T, closeAfter int, status int) (addr string, received *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	received = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					received.Add(1)
					if n == closeAfter {
						return
					}
					fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nX-Version: v1\r\nContent-Length: 3\r\n\r\nv1\n", status, http.StatusText(status))
				}
			}()
		}
	}()
	return ln.Addr().String(), received
}

func testLoad(addr string) *zdLoad {
	l := &zdLoad{cfg: loadConfig{timeout: 2 * time.Second, versions: map[string]int8{"v1": 1, "v2": 2}}}
	l.target.Store(&loadTarget{addr: addr})
	return l
}

func TestWorker_CountsAClosedKeepAliveConnectionAndNeverRetries(t *testing.T) {
	addr, received := flakyServer(t, 3, http.StatusOK)
	w := &zdWorker{l: testLoad(addr), kind: kindKeepAlive}
	defer w.closeConn()
	var got []zdSample
	for i := range 6 {
		got = append(got, w.one(i))
	}
	for i, s := range got {
		if i == 3 {
			if !s.failed() || !strings.Contains(s.err, "3 requests served") {
				t.Errorf("request 4: err %q, want a failure naming the reused connection", s.err)
			}
			continue
		}
		if s.failed() || s.version != 1 {
			t.Errorf("request %d: err %q, version %d; want v1", i+1, s.err, s.version)
		}
	}
	if n := received.Load(); n != 6 {
		t.Errorf("server received %d requests for 6 sent: the client re-sent or dropped some", n)
	}
}

func TestWorker_Non2xxIsAFailure(t *testing.T) {
	addr, _ := flakyServer(t, 100, http.StatusBadGateway)
	for _, kind := range []requestKind{kindFresh, kindSlow} {
		w := &zdWorker{l: testLoad(addr), kind: kind}
		s := w.one(0)
		w.closeConn()
		if !s.failed() || s.status != http.StatusBadGateway {
			t.Errorf("%s: status %d, err %q; want a failed 502", kind, s.status, s.err)
		}
	}
}

func TestAnalyze_SwitchFigures(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	op := zdOp{kind: opSwitch, n: 1, from: 1, to: 2, release: 2, start: at(0), end: at(3000)}
	step := func(ms int, action, status string) deploy.Event {
		return deploy.Event{Time: at(ms), Stack: "s", Kind: deploy.KindStep, Action: action, Status: status}
	}
	events := []deploy.Event{
		step(2000, "check-targets", "started"), step(2500, "check-targets", "done"),
		step(2502, "switch", "started"), step(2800, "switch", "done"),
	}
	answered := func(ms int, version int8) zdSample {
		return zdSample{start: at(ms), latency: time.Millisecond, version: version, status: 200, kind: kindKeepAlive}
	}
	samples := []zdSample{
		answered(100, 1),  // steady
		answered(2490, 1), // before ready
		answered(2504, 1), // old, after ready: the last one
		answered(2506, 2), // first new
		answered(2600, 2), // in the switch window
		answered(5000, 2), // steady again
	}
	failed := zdSample{start: at(2700), latency: 2 * time.Millisecond, err: "read response: EOF", kind: kindFresh}
	samples = append(samples[:5], append([]zdSample{failed}, samples[5:]...)...)

	r := analyzeZeroDowntime(samples, events, []zdOp{op}, []string{"s"}, t0)
	if len(r.switches) != 1 {
		t.Fatalf("switches: %d, want 1 (%v)", len(r.switches), r.missingSteps)
	}
	f := r.switches[0]
	if got, want := f.allNew(), 4*time.Millisecond; got != want {
		t.Errorf("ready→all new = %s, want %s", got, want)
	}
	if got, want := f.firstNew.Sub(f.ready), 6*time.Millisecond; got != want {
		t.Errorf("ready→first new = %s, want %s", got, want)
	}
	if f.failed != 1 || f.lateOld != 0 {
		t.Errorf("failed %d, old after switch %d; want 1, 0", f.failed, f.lateOld)
	}
	if got := r.failedBy[periodSwitch][kindFresh]; got != 1 {
		t.Errorf("failures in switch windows: %d, want 1", got)
	}
	// The window is [2402 ms, 3300 ms]: the requests at 2490, 2504, 2506 and 2600 ms.
	if got := r.latency[periodSwitch][kindKeepAlive].n; got != 4 {
		t.Errorf("keep-alive requests answered in switch windows: %d, want 4", got)
	}
	if len(r.failures) != 1 || !strings.Contains(r.failures[0].op, "switch 1") || !strings.Contains(r.failures[0].lastEvt, "switch") {
		t.Errorf("failure sample = %+v, want it placed in switch 1 after the switch step", r.failures)
	}
}
