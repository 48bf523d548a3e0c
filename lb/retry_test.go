package lb

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Long probe intervals below keep health checks out of the way: these tests
// are about what one request does.
const noProbe = time.Hour

func TestProxy_RetriesWhenTargetUnreachable(t *testing.T) {
	live := newBackend(t, "live")
	dead := deadAddr(t)
	p, url := newTestProxy(t, Route{Health: Health{Interval: noProbe}})
	setTargets(t, p, "stack/web", dead, live.addr())

	c := newClient(t, true)
	for i := range 10 {
		if code, body, err := post(c, url, "x"); err != nil || code != http.StatusOK || body != "live" {
			t.Fatalf("POST %d: %d %q %v, want 200 live", i, code, body, err)
		}
	}
	if ts, _ := targetStatus(p, "stack/web", dead); !strings.Contains(ts.LastError, "refused") {
		t.Errorf("unreachable target's last error: %q", ts.LastError)
	}

	setTargets(t, p, "stack/web", dead)
	code, body, err := post(c, url, "x")
	if err != nil || code != http.StatusBadGateway || !strings.Contains(body, "stack/web") {
		t.Errorf("POST with only an unreachable target: %d %q %v, want 502", code, body, err)
	}
}

// resetter reads a request, then drops the connection without answering:
// the request may have had its effect.
func resetter(t *testing.T, hits *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestProxy_RetriesOnlyWhatIsSafe(t *testing.T) {
	var resets atomic.Int64
	bad := resetter(t, &resets)
	good := newBackend(t, "good")
	p, url := newTestProxy(t, Route{Health: Health{Interval: noProbe}})
	setTargets(t, p, "stack/web", bad, good.addr())
	c := newClient(t, true)

	// A GET without a body is retried on the other target.
	for i := range 4 {
		if code, body, err := get(c, url); err != nil || code != http.StatusOK || body != "good" {
			t.Fatalf("GET %d: %d %q %v, want 200 good", i, code, body, err)
		}
	}
	if resets.Load() == 0 {
		t.Fatal("no GET went to the resetting target first")
	}

	// A POST that reached a target is never sent again: one of two lands
	// on the resetting target and fails.
	resets.Store(0)
	var failed int
	for range 2 {
		code, _, err := post(c, url, "x")
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusBadGateway {
			failed++
		}
	}
	if failed != 1 || resets.Load() != 1 {
		t.Errorf("POSTs: %d failed, %d reached the resetting target; want 1 and 1", failed, resets.Load())
	}
}
