package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

// A restarted daemon routes as before: the real proxy gets the saved
// routes and targets back, so traffic flows again without a deploy.
func TestServer_RestartRestoresRoutes(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "from backend "+r.URL.Path)
	}))
	defer backend.Close()
	target := strings.TrimPrefix(backend.URL, "http://")
	listen := freeAddr(t)
	dir, err := os.MkdirTemp("", "ct")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	first, stopFirst := startServer(t, s) // with a real lb.Proxy
	route := lb.Route{Name: "shop/web", Listen: listen, Health: lb.Health{Path: "/healthz"}}
	if err := first.router.EnsureRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	if err := first.router.CheckTargets(ctx, route.Name, []string{target}); err != nil {
		t.Fatal(err)
	}
	if err := first.router.SetTargets(ctx, route.Name, []string{target}); err != nil {
		t.Fatal(err)
	}
	if body, err := get("http://" + listen + "/a"); err != nil || body != "from backend /a" {
		t.Fatalf("through the first daemon's proxy: %q, %v", body, err)
	}
	stopFirst()
	if _, err := get("http://" + listen + "/a"); err == nil {
		t.Fatal("the proxy still answers after the daemon stopped")
	}

	second, _ := startServer(t, s)
	deadline := time.Now().Add(5 * time.Second)
	for {
		body, err := get("http://" + listen + "/b")
		if err == nil && body == "from backend /b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("through the restarted daemon's proxy: %q, %v", body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The API shows the restored route.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", second.SocketPath())
	}}}
	resp, err := client.Get("http://cutover/v1/routes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var routes []lb.RouteStatus
	if err := json.NewDecoder(resp.Body).Decode(&routes); err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 || routes[0].Route.Name != "shop/web" || len(routes[0].Targets) != 1 || routes[0].Targets[0].Addr != target {
		t.Errorf("GET /v1/routes = %+v", routes)
	}
	if saved, _ := s.ListRoutes(ctx); len(saved) != 1 || !slices.Equal(saved[0].Targets, []string{target}) {
		t.Errorf("saved table = %+v", saved)
	}
}

// startServer starts a daemon on s with a real proxy; stop shuts it down
// (also at the end of the test).
func startServer(t *testing.T, s *store.Store) (*Server, func()) {
	t.Helper()
	srv, err := New(Config{Store: s, Engine: enginetest.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
