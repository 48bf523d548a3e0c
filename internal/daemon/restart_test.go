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
	routes := apiRoutes(t, second)
	if len(routes) != 1 || routes[0].Route.Name != "shop/web" || len(routes[0].Targets) != 1 || routes[0].Targets[0].Addr != target {
		t.Errorf("GET /v1/routes = %+v", routes)
	}
	if saved, _ := s.ListRoutes(ctx); len(saved) != 1 || !slices.Equal(saved[0].Targets, []string{target}) {
		t.Errorf("saved table = %+v", saved)
	}
}

// A daemon restarted in the middle of a canary step splits traffic as
// before: the canary keeps its share of requests, and the API shows the
// weight.
func TestServer_RestartMidCanaryKeepsTheSplit(t *testing.T) {
	backend := func(name string) string {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, name)
		}))
		t.Cleanup(b.Close)
		return strings.TrimPrefix(b.URL, "http://")
	}
	stable, canary := backend("stable"), backend("canary")
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

	first, stopFirst := startServer(t, s)
	route := lb.Route{Name: "shop/web", Listen: listen, Health: lb.Health{Path: "/healthz"}}
	if err := first.router.EnsureRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	if err := first.router.CheckTargets(ctx, route.Name, []string{stable, canary}); err != nil {
		t.Fatal(err)
	}
	if err := first.router.SetTargets(ctx, route.Name, []string{stable}); err != nil {
		t.Fatal(err)
	}
	if err := first.router.SetSplit(ctx, route.Name, lb.Split{Stable: []string{stable}, Canary: []string{canary}, Weight: 30}); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	if share := canaryShare(t, client, "http://"+listen+"/", n); share < 27 || share > 33 {
		t.Fatalf("before the restart the canary got %d %% of %d requests, want 30 ± 3", share, n)
	}
	stopFirst()
	client.CloseIdleConnections()

	second, _ := startServer(t, s)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := get("http://" + listen + "/")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted daemon's proxy does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if share := canaryShare(t, client, "http://"+listen+"/", n); share < 27 || share > 33 {
		t.Errorf("after the restart the canary got %d %% of %d requests, want 30 ± 3", share, n)
	}

	// The API shows the split: the weight and each target's side.
	routes := apiRoutes(t, second)
	if len(routes) != 1 || routes[0].Weight != 30 || len(routes[0].Targets) != 2 {
		t.Fatalf("GET /v1/routes = %+v, want shop/web at weight 30 with two targets", routes)
	}
	want := []lb.TargetStatus{{Addr: stable, Side: lb.SideStable, Weight: 70}, {Addr: canary, Side: lb.SideCanary, Weight: 30}}
	for i, ts := range routes[0].Targets {
		if ts.Addr != want[i].Addr || ts.Side != want[i].Side || ts.Weight != want[i].Weight {
			t.Errorf("GET /v1/routes target %d = %+v, want %s %s at %d %%", i, ts, want[i].Addr, want[i].Side, want[i].Weight)
		}
	}
}

// canaryShare sends n GETs to url and returns the percentage answered by
// the backend named "canary"; any other answer fails the test.
func canaryShare(t *testing.T, c *http.Client, url string, n int) int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, body, err)
		}
		got[string(body)]++
	}
	if got["stable"]+got["canary"] != n {
		t.Fatalf("answers %v: want only stable and canary", got)
	}
	return 100 * got["canary"] / n
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

// apiRoutes returns the daemon's GET /v1/routes, asked on its socket.
func apiRoutes(t *testing.T, srv *Server) []lb.RouteStatus {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", srv.SocketPath())
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
	return routes
}
