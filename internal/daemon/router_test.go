package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/daemon/daemontest"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

func TestPersistingRouter_SavesAndRestoresTheRoutingTable(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	first := daemontest.NewProxy()
	r := newPersistingRouter(first, s, log)

	web := lb.Route{Name: "shop/web", Listen: "127.0.0.1:8080", Health: lb.Health{Path: "/healthz"}}
	api := lb.Route{Name: "shop/api", Listen: "127.0.0.1:8081", Host: "api.example.com"}
	for _, rt := range []lb.Route{web, api} {
		if err := r.EnsureRoute(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SetTargets(ctx, "shop/web", []string{"172.18.0.2:80", "172.18.0.3:80"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, "shop/web", []string{"172.18.0.4:80"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, "shop/api", []string{"172.18.0.5:9000"}); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveRoute(ctx, "shop/api"); err != nil {
		t.Fatal(err)
	}

	saved, err := s.ListRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || saved[0].Name != "shop/web" || !slices.Equal(saved[0].Targets, []string{"172.18.0.4:80"}) {
		t.Fatalf("saved routing table = %+v, want only shop/web → 172.18.0.4:80", saved)
	}

	// A new daemon's proxy gets the route and its targets back.
	second := daemontest.NewProxy()
	r2 := newPersistingRouter(second, s, log)
	if err := restoreRoutes(ctx, s, second, r2, log); err != nil {
		t.Fatal(err)
	}
	st := second.Status()
	if len(st) != 1 || st[0].Route != web {
		t.Fatalf("restored routes = %+v, want %+v", st, web)
	}
	if got, _ := second.Targets(ctx, "shop/web"); !slices.Equal(got, []string{"172.18.0.4:80"}) {
		t.Errorf("restored targets = %v, want [172.18.0.4:80]", got)
	}
	// And the restored route is known to the router: changes are saved.
	if err := r2.SetTargets(ctx, "shop/web", []string{"172.18.0.9:80"}); err != nil {
		t.Fatal(err)
	}
	if saved, _ := s.ListRoutes(ctx); len(saved) != 1 || !slices.Equal(saved[0].Targets, []string{"172.18.0.9:80"}) {
		t.Errorf("after a switch on the restored route, saved = %+v", saved)
	}
}

func TestPersistingRouter_FailedSwitchSavesWhatTheProxyHas(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := daemontest.NewProxy()
	r := newPersistingRouter(p, s, slog.New(slog.DiscardHandler))
	if err := r.EnsureRoute(ctx, lb.Route{Name: "shop/web", Listen: "127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, "shop/web", []string{"10.0.0.1:80"}); err != nil {
		t.Fatal(err)
	}
	// The route disappears behind the router's back: a switch fails, and
	// the table must not keep a route the proxy does not have.
	if err := p.RemoveRoute(ctx, "shop/web"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, "shop/web", []string{"10.0.0.2:80"}); err == nil {
		t.Fatal("SetTargets on a removed route succeeded")
	}
	if saved, _ := s.ListRoutes(ctx); len(saved) != 0 {
		t.Errorf("saved = %+v, want nothing", saved)
	}
}

// newRealProxy returns an lb.Proxy that closes with the test.
func newRealProxy(t *testing.T) *lb.Proxy {
	t.Helper()
	p := lb.NewProxy(nil)
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("closing the proxy: %v", err)
		}
	})
	return p
}

// backendAddr starts an HTTP server answering 200 and returns its IP:port.
func backendAddr(t *testing.T) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(b.Close)
	return strings.TrimPrefix(b.URL, "http://")
}

// A canary split is saved with the route, kept when the route's settings
// change, applied again by a restarted daemon, and dropped from the store
// when SetTargets ends it.
func TestPersistingRouter_SplitRoundTripsThroughTheStore(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	stable, canary := backendAddr(t), backendAddr(t)
	web := lb.Route{Name: "shop/web", Listen: "127.0.0.1:0"}

	first := newRealProxy(t)
	r := newPersistingRouter(first, s, log)
	if err := r.EnsureRoute(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, web.Name, []string{stable}); err != nil {
		t.Fatal(err)
	}
	split := lb.Split{Stable: []string{stable}, Canary: []string{canary}, Weight: 30}
	if err := r.SetSplit(ctx, web.Name, split); err != nil {
		t.Fatal(err)
	}
	wantSaved := func(when string, want *store.RouteSplit) {
		t.Helper()
		saved, err := s.ListRoutes(ctx)
		if err != nil || len(saved) != 1 {
			t.Fatalf("%s: saved = %+v, %v; want shop/web", when, saved, err)
		}
		got := saved[0].Split
		switch {
		case want == nil && got != nil:
			t.Errorf("%s: saved split %+v, want none", when, got)
		case want != nil && (got == nil || !slices.Equal(got.Stable, want.Stable) || !slices.Equal(got.Canary, want.Canary) || got.Weight != want.Weight):
			t.Errorf("%s: saved split %+v, want %+v", when, got, want)
		}
	}
	wantSaved("after SetSplit", &store.RouteSplit{Stable: []string{stable}, Canary: []string{canary}, Weight: 30})

	// Changing the route's settings keeps its targets and split in the
	// proxy, so in the store too.
	web.Health = lb.Health{Path: "/healthz"}
	if err := r.EnsureRoute(ctx, web); err != nil {
		t.Fatal(err)
	}
	wantSaved("after EnsureRoute", &store.RouteSplit{Stable: []string{stable}, Canary: []string{canary}, Weight: 30})

	// A restarted daemon's proxy splits again, by the same weight.
	second := newRealProxy(t)
	r2 := newPersistingRouter(second, s, log)
	if err := restoreRoutes(ctx, s, second, r2, log); err != nil {
		t.Fatal(err)
	}
	got, isSplit, err := second.Split(web.Name)
	if err != nil || !isSplit || !slices.Equal(got.Stable, split.Stable) || !slices.Equal(got.Canary, split.Canary) || got.Weight != 30 {
		t.Fatalf("restored split = %+v, %v, %v; want %+v", got, isSplit, err, split)
	}
	if st := second.Status(); len(st) != 1 || st[0].Weight != 30 || st[0].Route.Health.Path != "/healthz" {
		t.Errorf("restored status = %+v, want shop/web with /healthz at weight 30", st)
	}

	// Promotion through SetTargets ends the split, in the store too: the
	// next restart routes everything to the new targets.
	if err := r2.SetTargets(ctx, web.Name, []string{canary}); err != nil {
		t.Fatal(err)
	}
	wantSaved("after SetTargets", nil)
	third := newRealProxy(t)
	if err := restoreRoutes(ctx, s, third, newPersistingRouter(third, s, log), log); err != nil {
		t.Fatal(err)
	}
	if got, isSplit, _ := third.Split(web.Name); isSplit || !slices.Equal(got.Stable, []string{canary}) {
		t.Errorf("after a promotion and a restart: %+v, split %v; want all on %s", got, isSplit, canary)
	}
}

// Records without a split (as the version before splits were saved wrote
// them: PutRoute omits an empty split) restore as plain targets; a saved
// split the proxy refuses falls back to all the route's targets.
func TestRestoreRoutes_WithoutAUsableSplit(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := backendAddr(t), backendAddr(t)
	put := func(name string, split *store.RouteSplit) {
		t.Helper()
		// One listener, told apart by host (both bind "127.0.0.1:0").
		config, err := json.Marshal(lb.Route{Name: name, Listen: "127.0.0.1:0", Host: strings.TrimPrefix(name, "shop/") + ".example"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutRoute(ctx, store.Route{Name: name, Config: config, Targets: []string{a, b}, Split: split}); err != nil {
			t.Fatal(err)
		}
	}
	put("shop/old", nil)
	put("shop/bad", &store.RouteSplit{Stable: []string{a}, Canary: []string{b}, Weight: 130})

	log := slog.New(slog.DiscardHandler)
	p := newRealProxy(t)
	if err := restoreRoutes(ctx, s, p, newPersistingRouter(p, s, log), log); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop/old", "shop/bad"} {
		got, isSplit, err := p.Split(name)
		if err != nil || isSplit || !slices.Equal(got.Stable, []string{a, b}) {
			t.Errorf("%s restored as %+v, split %v, %v; want both targets, no split", name, got, isSplit, err)
		}
	}
}
