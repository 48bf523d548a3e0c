package lb

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestProxy_UnhealthyTargetLeavesRotation(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, url := newTestProxy(t, Route{Health: Health{Path: "/healthz", Interval: 10 * time.Millisecond}})
	setTargets(t, p, "stack/web", a.addr(), b.addr())
	c := newClient(t, true)
	sendAll := func(n int) {
		t.Helper()
		for range n {
			if code, body, err := post(c, url, "x"); err != nil || code != http.StatusOK {
				t.Fatalf("POST: %d %q %v", code, body, err)
			}
		}
	}

	a.healthy.Store(false)
	eventually(t, "a is marked unhealthy", func() bool {
		ts, _ := targetStatus(p, "stack/web", a.addr())
		return !ts.Healthy && strings.Contains(ts.LastError, "503")
	})
	before := a.hits.Load()
	sendAll(20)
	if got := a.hits.Load() - before; got != 0 {
		t.Errorf("unhealthy target got %d of 20 requests", got)
	}

	a.healthy.Store(true)
	eventually(t, "a is healthy again", func() bool {
		ts, _ := targetStatus(p, "stack/web", a.addr())
		return ts.Healthy && ts.LastError == ""
	})
	before = a.hits.Load()
	sendAll(20)
	if got := a.hits.Load() - before; got != 10 {
		t.Errorf("target back in rotation got %d of 20 requests, want 10", got)
	}
}

// When every active target fails its probe, the proxy still tries them
// rather than answering 503 (see roundRobin.acquire).
func TestProxy_AllUnhealthyStillServed(t *testing.T) {
	a := newBackend(t, "a")
	p, url := newTestProxy(t, Route{Health: Health{Path: "/healthz", Interval: 10 * time.Millisecond}})
	setTargets(t, p, "stack/web", a.addr())
	a.healthy.Store(false)
	eventually(t, "a is marked unhealthy", func() bool {
		ts, _ := targetStatus(p, "stack/web", a.addr())
		return !ts.Healthy
	})
	if code, body, err := post(newClient(t, true), url, "x"); err != nil || code != http.StatusOK || body != "a" {
		t.Errorf("POST with every target unhealthy: %d %q %v, want 200 a", code, body, err)
	}
}

func TestProxy_TCPProbe(t *testing.T) {
	a := newBackend(t, "a")
	p, _ := newTestProxy(t, Route{Health: Health{Interval: 10 * time.Millisecond, UnhealthyThreshold: 1}})
	setTargets(t, p, "stack/web", a.addr())
	a.srv.Close()
	eventually(t, "a closed listener fails the TCP probe", func() bool {
		ts, _ := targetStatus(p, "stack/web", a.addr())
		return !ts.Healthy && strings.Contains(ts.LastError, "refused")
	})
}

func TestProxy_CheckTargets(t *testing.T) {
	c := newBackend(t, "c")
	c.healthy.Store(false)
	p, _ := newTestProxy(t, Route{Health: Health{Path: "/healthz", Interval: 10 * time.Millisecond, HealthyThreshold: 3}})

	t.Run("waits until the target passes", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			done <- p.CheckTargets(ctx, "stack/web", []string{c.addr()})
		}()
		eventually(t, "the target is listed as a failing candidate", func() bool {
			ts, _ := targetStatus(p, "stack/web", c.addr())
			return ts.State == TargetCandidate && !ts.Healthy && ts.LastError != ""
		})
		c.healthy.Store(true)
		if err := <-done; err != nil {
			t.Fatalf("CheckTargets: %v", err)
		}
		if _, listed := targetStatus(p, "stack/web", c.addr()); listed {
			t.Error("candidate still listed after CheckTargets")
		}
		if n := c.hits.Load(); n != 0 {
			t.Errorf("candidate got %d requests", n)
		}
	})

	t.Run("names the failing target and its error", func(t *testing.T) {
		dead := deadAddr(t)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		err := p.CheckTargets(ctx, "stack/web", []string{c.addr(), dead})
		if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("CheckTargets: %v, want ErrUnhealthy naming %s and its error", err, dead)
		}
		if strings.Contains(err.Error(), c.addr()) {
			t.Errorf("CheckTargets blames the healthy target: %v", err)
		}
	})
}
