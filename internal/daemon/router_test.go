package daemon

import (
	"context"
	"log/slog"
	"slices"
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
