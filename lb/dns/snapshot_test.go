package dns

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/cutover/cutover/lb"
)

func TestServer_SnapshotRestoresTheSameAnswers(t *testing.T) {
	ctx := t.Context()
	a := startServer(t, ServerConfig{})
	must(t, a.EnsureRoute(ctx, appRoute()))
	must(t, a.EnsureRoute(ctx, lb.Route{Name: "shop/api", Host: "api.example.test"}))
	must(t, a.SetTargets(ctx, "shop/web", []string{"127.0.0.12:8080"}))
	split := lb.Split{Stable: []string{"127.0.0.11:9000"}, Canary: []string{"127.0.0.12:9000"}, Weight: 25}
	must(t, a.SetSplit(ctx, "shop/api", split))

	data, err := json.Marshal(a.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var states []RouteState
	must(t, json.Unmarshal(data, &states))

	b := startServer(t, ServerConfig{Rand: seeded(7)})
	must(t, b.Restore(states))
	if got := addresses(ask(t, "udp", b.Addr(), "app.example.test.", mdns.TypeA)); !slices.Equal(got, []string{"127.0.0.12"}) {
		t.Errorf("restored route answers %v", got)
	}
	targets, err := b.Targets(ctx, "shop/api")
	if err != nil || !slices.Equal(targets, []string{"127.0.0.11:9000", "127.0.0.12:9000"}) {
		t.Errorf("restored split targets %v, %v", targets, err)
	}
	seen := map[string]int{}
	for range 200 {
		seen[addresses(ask(t, "udp", b.Addr(), "api.example.test.", mdns.TypeA))[0]]++
	}
	if seen["127.0.0.11"] == 0 || seen["127.0.0.12"] == 0 {
		t.Errorf("restored split answered %v, want both colors", seen)
	}
	if !slices.EqualFunc(a.Status(), b.Status(), func(x, y lb.RouteStatus) bool {
		return x.Route == y.Route && slices.Equal(x.Targets, y.Targets)
	}) {
		t.Errorf("status differs after restore:\n%+v\n%+v", a.Status(), b.Status())
	}
}

func TestServer_RestoreIsAllOrNothing(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{})
	must(t, s.EnsureRoute(ctx, appRoute()))
	must(t, s.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080"}))

	for _, tc := range []struct {
		desc   string
		states []RouteState
		want   error
	}{
		{"host outside the zone", []RouteState{
			{Route: lb.Route{Name: "a/a", Host: "a.example.test"}, Targets: []string{"127.0.0.1:1"}},
			{Route: lb.Route{Name: "b/b", Host: "b.elsewhere.test"}},
		}, lb.ErrInvalid},
		{"two routes on one host", []RouteState{
			{Route: lb.Route{Name: "a/a", Host: "a.example.test"}},
			{Route: lb.Route{Name: "b/b", Host: "A.example.test."}},
		}, lb.ErrHostTaken},
		{"bad target", []RouteState{
			{Route: lb.Route{Name: "a/a", Host: "a.example.test"}, Targets: []string{"nope"}},
		}, lb.ErrInvalid},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if err := s.Restore(tc.states); !errors.Is(err, tc.want) {
				t.Fatalf("Restore: %v, want %v", err, tc.want)
			}
			if got := addresses(ask(t, "udp", s.Addr(), "app.example.test.", mdns.TypeA)); !slices.Equal(got, []string{"127.0.0.11"}) {
				t.Errorf("after a refused Restore the route answers %v", got)
			}
		})
	}
}
