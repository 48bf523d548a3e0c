package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testConfig(t *testing.T, env map[string]string) config {
	t.Helper()
	cfg, err := loadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	return cfg
}

// get sends a request to h and returns the status, X-Version header and body.
func get(t *testing.T, h http.Handler, method, target string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Header().Get("X-Version"), rec.Body.String()
}

func TestVersion(t *testing.T) {
	h := newApp(testConfig(t, map[string]string{envVersion: "v7"}), time.Now()).handler()
	for _, tc := range []struct{ method, target string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/version"},
		{http.MethodPost, "/"},
		{http.MethodGet, "/anything/else"},
	} {
		code, hdr, body := get(t, h, tc.method, tc.target)
		if code != http.StatusOK || hdr != "v7" || body != "v7\n" {
			t.Errorf("%s %s = %d, X-Version %q, body %q; want 200, v7, \"v7\\n\"", tc.method, tc.target, code, hdr, body)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg := testConfig(t, nil)
	if cfg.Version != "dev" || cfg.Listen != ":8080" || !cfg.Healthy {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		health string
		want   int
	}{
		{"", http.StatusOK},
		{"ok", http.StatusOK},
		{"fail", http.StatusServiceUnavailable},
	} {
		h := newApp(testConfig(t, map[string]string{envHealth: tc.health}), time.Now()).handler()
		if code, _, _ := get(t, h, http.MethodGet, "/healthz"); code != tc.want {
			t.Errorf("TESTAPP_HEALTH=%q: /healthz = %d, want %d", tc.health, code, tc.want)
		}
	}
}

func TestUnhealthyAfter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	a := newApp(testConfig(t, map[string]string{envUnhealthyAfter: "5s"}), start)
	a.now = func() time.Time { return now }
	h := a.handler()

	for _, tc := range []struct {
		at   time.Duration
		want int
	}{
		{0, http.StatusOK},
		{4999 * time.Millisecond, http.StatusOK},
		{5 * time.Second, http.StatusServiceUnavailable},
		{time.Hour, http.StatusServiceUnavailable},
	} {
		now = start.Add(tc.at)
		if code, _, _ := get(t, h, http.MethodGet, "/healthz"); code != tc.want {
			t.Errorf("after %v: /healthz = %d, want %d", tc.at, code, tc.want)
		}
	}
}

func TestSlowRoot(t *testing.T) {
	h := newApp(testConfig(t, map[string]string{envSlow: "100ms"}), time.Now()).handler()
	begin := time.Now()
	code, _, _ := get(t, h, http.MethodGet, "/")
	if elapsed := time.Since(begin); code != http.StatusOK || elapsed < 100*time.Millisecond {
		t.Errorf("GET / = %d after %v; want 200 after at least 100ms", code, elapsed)
	}
	// TESTAPP_SLOW applies to / only.
	begin = time.Now()
	get(t, h, http.MethodGet, "/healthz")
	if elapsed := time.Since(begin); elapsed >= 100*time.Millisecond {
		t.Errorf("GET /healthz took %v; TESTAPP_SLOW should not apply", elapsed)
	}
}

func TestSlowEndpoint(t *testing.T) {
	h := newApp(testConfig(t, nil), time.Now()).handler()
	begin := time.Now()
	code, _, body := get(t, h, http.MethodGet, "/slow?d=80ms")
	if elapsed := time.Since(begin); code != http.StatusOK || body != "dev\n" || elapsed < 80*time.Millisecond {
		t.Errorf("GET /slow?d=80ms = %d %q after %v", code, body, elapsed)
	}
	if code, _, _ := get(t, h, http.MethodGet, "/slow?d=bogus"); code != http.StatusBadRequest {
		t.Errorf("GET /slow?d=bogus = %d, want 400", code)
	}
}

func TestSlowStopsWhenClientLeaves(t *testing.T) {
	h := newApp(testConfig(t, map[string]string{envSlow: "1h"}), time.Now()).handler()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler kept sleeping after the request context ended")
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("TESTAPP_TEST_VALUE", "hello")
	h := newApp(testConfig(t, nil), time.Now()).handler()
	if code, _, body := get(t, h, http.MethodGet, "/env?k=TESTAPP_TEST_VALUE"); code != http.StatusOK || body != "hello\n" {
		t.Errorf("GET /env = %d %q", code, body)
	}
	if code, _, _ := get(t, h, http.MethodGet, "/env?k=TESTAPP_SURELY_UNSET_VARIABLE"); code != http.StatusNotFound {
		t.Errorf("GET /env unset = %d, want 404", code)
	}
	if code, _, _ := get(t, h, http.MethodGet, "/env"); code != http.StatusBadRequest {
		t.Errorf("GET /env without k = %d, want 400", code)
	}
}

func TestHostname(t *testing.T) {
	h := newApp(testConfig(t, nil), time.Now()).handler()
	if code, _, body := get(t, h, http.MethodGet, "/hostname"); code != http.StatusOK || strings.TrimSpace(body) == "" {
		t.Errorf("GET /hostname = %d %q", code, body)
	}
}

func TestBadConfig(t *testing.T) {
	for _, env := range []map[string]string{
		{envHealth: "maybe"},
		{envSlow: "fast"},
		{envCrashAfter: "-1s"},
	} {
		if _, err := loadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
			t.Errorf("loadConfig(%v) succeeded, want an error", env)
		}
	}
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(newApp(testConfig(t, nil), time.Now()).handler())
	defer ok.Close()
	failing := httptest.NewServer(newApp(testConfig(t, map[string]string{envHealth: "fail"}), time.Now()).handler())
	defer failing.Close()

	if err := probe(context.Background(), ok.URL+"/healthz"); err != nil {
		t.Errorf("probe healthy: %v", err)
	}
	if err := probe(context.Background(), failing.URL+"/healthz"); err == nil {
		t.Error("probe unhealthy succeeded")
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if err := probe(context.Background(), closed.URL); err == nil {
		t.Error("probe of a closed server succeeded")
	}
}

func TestDefaultProbeURL(t *testing.T) {
	for listen, want := range map[string]string{
		"":               "http://127.0.0.1:8080/healthz",
		":9000":          "http://127.0.0.1:9000/healthz",
		"0.0.0.0:8081":   "http://127.0.0.1:8081/healthz",
		"not-an-address": "http://127.0.0.1:8080/healthz",
	} {
		if got := defaultProbeURL(listen); got != want {
			t.Errorf("defaultProbeURL(%q) = %q, want %q", listen, got, want)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- serveOn(ctx, ln, testConfig(t, nil), logger) }()

	// A request in flight when the signal arrives still completes.
	type result struct {
		code int
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow?d=300ms")
		if err != nil {
			resc <- result{err: err}
			return
		}
		resp.Body.Close()
		resc <- result{code: resp.StatusCode}
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()

	if r := <-resc; r.err != nil || r.code != http.StatusOK {
		t.Errorf("in-flight request: %d, %v; want 200", r.code, r.err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serveOn: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serveOn did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Error("server still answers after shutdown")
	}
}
