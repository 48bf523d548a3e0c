package lb

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load sends POSTs through the proxy from keep-alive and fresh-connection
// clients that never retry, and records every failure.
type load struct {
	ok       atomic.Int64
	mu       sync.Mutex
	failures []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, url string, keepAlive, fresh int) *load {
	l := &load{stop: make(chan struct{})}
	for i := range keepAlive + fresh {
		c := newClient(t, i < keepAlive)
		l.wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				code, body, err := post(c, url, fmt.Sprintf("worker %d request %d", i, n))
				if err != nil || code != http.StatusOK {
					l.mu.Lock()
					l.failures = append(l.failures, fmt.Sprintf("%d %q %v", code, body, err))
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	return l
}

// progress waits until n more requests succeeded.
func (l *load) progress(t *testing.T, n int64) {
	t.Helper()
	from := l.ok.Load()
	eventually(t, "the load makes progress", func() bool { return l.ok.Load() >= from+n })
}

func (l *load) finish() []string {
	close(l.stop)
	l.wg.Wait()
	return l.failures
}

// TestProxy_SwitchUnderLoadLosesNothing switches targets while clients that
// never retry hammer the proxy, and stops each old backend after the switch,
// as a deploy stops the old container.
func TestProxy_SwitchUnderLoadLosesNothing(t *testing.T) {
	bs := []*backend{newBackend(t, "b0"), newBackend(t, "b1"), newBackend(t, "b2"), newBackend(t, "b3")}
	p, url := newTestProxy(t, Route{Health: Health{Path: "/healthz"}})
	setTargets(t, p, "stack/web", bs[0].addr())

	l := startLoad(t, url, 4, 2)
	steps := []struct {
		to      []*backend
		retired *backend
	}{
		{[]*backend{bs[1]}, bs[0]},
		{[]*backend{bs[2], bs[3]}, bs[1]},
		{[]*backend{bs[3]}, bs[2]},
	}
	frozen := map[*backend]int64{}
	for _, s := range steps {
		l.progress(t, 200)
		addrs := make([]string, len(s.to))
		for i, b := range s.to {
			addrs[i] = b.addr()
		}
		setTargets(t, p, "stack/web", addrs...)
		// Once SetTargets returned, the old backend has seen its last
		// request and the proxy holds no connection to it.
		frozen[s.retired] = s.retired.hits.Load()
		eventually(t, "the proxy closes its connections to "+s.retired.name, func() bool {
			return s.retired.open.Load() == 0
		})
		s.retired.srv.Close()
	}
	l.progress(t, 200)
	failures := l.finish()

	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, first: %s", len(failures), int64(len(failures))+l.ok.Load(), failures[0])
	}
	for b, n := range frozen {
		if got := b.hits.Load(); got != n {
			t.Errorf("backend %s got %d requests after it left the route", b.name, got-n)
		}
		if n == 0 {
			t.Errorf("backend %s got no request while active", b.name)
		}
	}
	if bs[3].hits.Load() == 0 {
		t.Error("the last backend got no request")
	}
	t.Logf("%d requests, 0 failed, over %d switches", l.ok.Load(), len(steps))
}

func TestProxy_SwitchWaitsForInFlight(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", a.addr())

	slow := make(chan string, 1)
	go func() {
		code, body, err := post(newClient(t, true), url+"/slow", "x")
		slow <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	<-a.arrived

	switched := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		switched <- p.SetTargets(ctx, "stack/web", []string{b.addr()})
	}()

	// New requests go to b at once, while a still has one in flight.
	c := newClient(t, false)
	eventually(t, "new requests reach the new target", func() bool {
		_, body, _ := post(c, url, "x")
		return body == "b"
	})
	if ts, ok := targetStatus(p, "stack/web", a.addr()); !ok || ts.State != TargetDraining || ts.InFlight != 1 {
		t.Errorf("old target during the drain: %+v (listed %v), want draining with 1 in flight", ts, ok)
	}
	select {
	case err := <-switched:
		t.Fatalf("SetTargets returned (%v) while a request was in flight on the old target", err)
	case <-time.After(100 * time.Millisecond):
	}

	a.unblock()
	if err := <-switched; err != nil {
		t.Fatalf("SetTargets: %v", err)
	}
	if got := <-slow; got != "200 a <nil>" {
		t.Errorf("in-flight request: %s, want 200 a", got)
	}
	if _, ok := targetStatus(p, "stack/web", a.addr()); ok {
		t.Error("drained target still listed")
	}
}

func TestProxy_DrainTimeout(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	const timeout = 200 * time.Millisecond
	p, url := newTestProxy(t, Route{DrainTimeout: timeout})
	setTargets(t, p, "stack/web", a.addr())

	slow := make(chan string, 1)
	go func() {
		code, body, err := get(newClient(t, true), url+"/slow")
		slow <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	<-a.arrived

	start := time.Now()
	setTargets(t, p, "stack/web", b.addr())
	if d := time.Since(start); d < timeout {
		t.Errorf("SetTargets returned after %v, before the drain timeout %v", d, timeout)
	}
	if ts, ok := targetStatus(p, "stack/web", a.addr()); !ok || ts.State != TargetDraining || ts.InFlight != 1 {
		t.Errorf("old target after the timeout: %+v (listed %v), want draining with 1 in flight", ts, ok)
	}

	// The request that outlived the timeout still completes.
	a.unblock()
	if got := <-slow; got != "200 a <nil>" {
		t.Errorf("request past the drain timeout: %s, want 200 a", got)
	}
	eventually(t, "the old target leaves once drained", func() bool {
		_, ok := targetStatus(p, "stack/web", a.addr())
		return !ok
	})
	eventually(t, "the old target's connections close", func() bool { return a.open.Load() == 0 })
}

func TestProxy_SwitchCutShortByContext(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", a.addr())
	go get(newClient(t, true), url+"/slow")
	<-a.arrived

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.SetTargets(ctx, "stack/web", []string{b.addr()}); err == nil {
		t.Error("SetTargets with an ended context: nil error")
	}
	if got, _ := p.Targets(t.Context(), "stack/web"); len(got) != 1 || got[0] != b.addr() {
		t.Errorf("targets after a cut-short drain: %v, want the switch to stand", got)
	}
	a.unblock()
}
