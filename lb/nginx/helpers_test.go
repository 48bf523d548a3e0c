package nginx

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/nginx/nginxtest"
)

// testNginx is a private nginx (nginxtest) for the package's tests.
type testNginx struct{ *nginxtest.Nginx }

// startNginx runs nginx in the foreground (stopped at the end of the
// test) with an empty include directory.
func startNginx(t *testing.T) *testNginx {
	t.Helper()
	ng, err := nginxtest.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ng.Stop() })
	return &testNginx{ng}
}

// stop ends nginx (fast shutdown), killing it after 5 s.
func (n *testNginx) stop() { _ = n.Stop() }

// config is a router Config for this nginx.
func (n *testNginx) config() Config {
	return Config{
		Dir:           n.Dir,
		Test:          n.Test(),
		Reload:        n.Reload(),
		PIDFile:       n.PIDFile,
		ErrorLog:      n.ErrorLog,
		ReloadNotice:  200 * time.Millisecond,
		VerifyTimeout: 10 * time.Second,
	}
}

// newRouter returns a router on n, logging to the test.
func newRouter(t *testing.T, cfg Config) *Router {
	t.Helper()
	r, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// backend is an app that answers every request with its name (after
// reading the body) and /healthz with 200; it returns its address.
func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(appHandler(name, nil))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// appHandler answers like backend; slow, when set, is called on /slow
// before the answer.
func appHandler(name string, slow func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/slow" && slow != nil {
			slow()
		}
		w.Header().Set("X-Backend", name)
		_, _ = io.WriteString(w, name)
	})
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// answer is what a client saw from one request.
type answer struct {
	body, generation string
	status           int
}

// get sends GET path to addr on a new connection (Host: host when set),
// like curl would.
func get(t *testing.T, addr, host, path string) answer {
	t.Helper()
	a, err := tryGet(addr, host, path)
	if err != nil {
		t.Fatalf("GET http://%s%s: %v", addr, path, err)
	}
	return a
}

func tryGet(addr, host, path string) (answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return answer{}, err
	}
	if host != "" {
		req.Host = host
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{body: string(b), generation: resp.Header.Get(GenerationHeader), status: resp.StatusCode}, nil
}

// route is a test route on a free port with a health path.
func testRoute(t *testing.T, name string) lb.Route {
	return lb.Route{Name: name, Listen: freeAddr(t), Health: lb.Health{Path: "/healthz"}, DrainTimeout: 5 * time.Second}
}

// switchTo checks addrs and makes them the route's targets.
func switchTo(t *testing.T, r *Router, route string, addrs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.CheckTargets(ctx, route, addrs); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, route, addrs); err != nil {
		t.Fatal(err)
	}
}

func ensure(t *testing.T, r *Router, route lb.Route) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.EnsureRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// serve runs h on a loopback port for the test and returns its address.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// unhealthyBackend answers /healthz with 503.
func unhealthyBackend(t *testing.T) string {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unhealthy", http.StatusServiceUnavailable)
	}))
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
