package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/dns"
)

// fakeProxy is a Router that keeps routes in memory.
type fakeProxy struct {
	mu     sync.Mutex
	routes map[string][]string
}

func (p *fakeProxy) EnsureRoute(_ context.Context, r lb.Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.routes == nil {
		p.routes = map[string][]string{}
	}
	if _, ok := p.routes[r.Name]; !ok {
		p.routes[r.Name] = []string{}
	}
	return nil
}

func (p *fakeProxy) RemoveRoute(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.routes, name)
	return nil
}

func (p *fakeProxy) CheckTargets(context.Context, string, []string) error { return nil }

func (p *fakeProxy) SetTargets(_ context.Context, name string, addrs []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.routes[name]; !ok {
		return lb.ErrNoRoute
	}
	p.routes[name] = addrs
	return nil
}

func (p *fakeProxy) Targets(_ context.Context, name string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.routes[name]
	if !ok {
		return nil, lb.ErrNoRoute
	}
	return t, nil
}

func (p *fakeProxy) Status() []lb.RouteStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []lb.RouteStatus
	for n := range p.routes {
		out = append(out, lb.RouteStatus{Route: lb.Route{Name: n}})
	}
	return out
}

// muxStack loads a stack from yaml written in a fresh directory.
func muxStack(t *testing.T, yaml string) *compose.Stack {
	t.Helper()
	f := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{f}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func builtinDNS(t *testing.T, s *store.Store) *deploy.PersistentDNS {
	t.Helper()
	srv, err := dns.NewServer(dns.ServerConfig{Zone: "example.test.", Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := deploy.NewPersistentDNS(context.Background(), srv, s, "builtin", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each route goes to the router its stack says: the proxy for a proxy
// stack, the built-in DNS server for a dns stack; status lists both.
func TestRouterMux_SendsEachRouteToItsRouter(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	proxy := &fakeProxy{}
	builtin := builtinDNS(t, s)
	m := deploy.NewRouterMux(deploy.MuxConfig{Proxy: proxy, DNS: builtin, Store: s})
	m.UseStack(muxStack(t, "name: shop\nx-cutover: {router: proxy}\nservices: {web: {image: web}}\n"))
	m.UseStack(muxStack(t, "name: blog\nx-cutover: {router: dns, dns: {keep_old: 2s}}\nservices: {web: {image: web}}\n"))

	shop := lb.Route{Name: "shop/web", Listen: "127.0.0.1:8080"}
	blog := lb.Route{Name: "blog/web", Router: "dns", Host: "blog.example.test", Listen: ":8080"}
	for _, r := range []lb.Route{shop, blog} {
		if err := m.CanRoute(r); err != nil {
			t.Fatalf("CanRoute(%s): %v", r.Name, err)
		}
		if err := m.EnsureRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetTargets(ctx, "shop/web", []string{"172.18.0.2:80"}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetTargets(ctx, "blog/web", []string{"127.0.0.12:8080"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := proxy.Targets(ctx, "shop/web"); !slices.Equal(got, []string{"172.18.0.2:80"}) {
		t.Errorf("the proxy has shop/web → %v", got)
	}
	if _, err := proxy.Targets(ctx, "blog/web"); err == nil {
		t.Error("the dns route reached the proxy")
	}
	if got, _ := builtin.Targets(ctx, "blog/web"); !slices.Equal(got, []string{"127.0.0.12:8080"}) {
		t.Errorf("the dns server has blog/web → %v", got)
	}
	var names []string
	for _, r := range m.Status() {
		names = append(names, r.Route.Name)
	}
	if !slices.Equal(names, []string{"blog/web", "shop/web"}) {
		t.Errorf("status lists %v, want blog/web and shop/web", names)
	}
	// The keep-old window: none behind the proxy; max(60s, 3 × TTL) for
	// dns, or max(keep_old, 3 × TTL) when keep_old is set (TTL 5s).
	for _, tc := range []struct {
		route string
		floor time.Duration
		want  time.Duration
	}{{"shop/web", 0, 0}, {"blog/web", 0, time.Minute}, {"blog/web", 2 * time.Second, 15 * time.Second}, {"blog/web", 90 * time.Second, 90 * time.Second}} {
		if got := m.KeepOld(ctx, tc.route, tc.floor); got != tc.want {
			t.Errorf("KeepOld(%s, %s) = %s, want %s", tc.route, tc.floor, got, tc.want)
		}
	}

	// A new process (or a restarted daemon) gets the dns table back.
	again := builtinDNS(t, s)
	if got, _ := again.Targets(ctx, "blog/web"); !slices.Equal(got, []string{"127.0.0.12:8080"}) {
		t.Errorf("restored dns server has blog/web → %v, want the saved targets", got)
	}
}

// Without the daemon, routes of the proxy and of the built-in DNS server
// are refused before anything runs, saying what to start; an RFC 2136
// route whose key is missing is bad input naming the field.
func TestRouterMux_SaysWhatIsMissing(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := deploy.NewRouterMux(deploy.MuxConfig{Store: s})
	m.UseStack(muxStack(t, "name: blog\nx-cutover: {router: dns}\nservices: {web: {image: web}}\n"))
	m.UseStack(muxStack(t, "name: docs\nx-cutover:\n  router: dns\n  dns: {mode: rfc2136, zone: example.test, server: 127.0.0.1, key_name: k, key_secret_env: CUTOVER_TEST_UNSET_KEY}\nservices: {web: {image: web}}\n"))
	for _, tc := range []struct {
		route lb.Route
		is    error
		want  []string
	}{
		{lb.Route{Name: "shop/web", Listen: ":8080"}, deploy.ErrNoRouter, []string{"built-in proxy", "cutover serve"}},
		{lb.Route{Name: "blog/web", Router: "dns", Host: "blog.example.test"}, deploy.ErrNoRouter, []string{"built-in DNS server", "--dns-listen", "--dns-zone"}},
		{lb.Route{Name: "docs/web", Router: "dns", Host: "docs.example.test"}, deploy.ErrBadInput, []string{"x-cutover.dns.key_secret_env", "CUTOVER_TEST_UNSET_KEY"}},
	} {
		err := m.CanRoute(tc.route)
		if !errors.Is(err, tc.is) {
			t.Errorf("CanRoute(%s) = %v, want %v", tc.route.Name, err, tc.is)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("CanRoute(%s) = %q, does not mention %q", tc.route.Name, err, w)
			}
		}
	}
}

// A stack whose x-cutover.dns says another zone than the daemon serves is
// refused, naming both.
func TestRouterMux_BuiltinZoneMustMatch(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := deploy.NewRouterMux(deploy.MuxConfig{DNS: builtinDNS(t, s), Store: s})
	m.UseStack(muxStack(t, "name: blog\nx-cutover: {router: dns, dns: {zone: other.test}}\nservices: {web: {image: web}}\n"))
	err = m.CanRoute(lb.Route{Name: "blog/web", Router: "dns", Host: "blog.other.test"})
	if !errors.Is(err, deploy.ErrBadInput) || !strings.Contains(err.Error(), "other.test") || !strings.Contains(err.Error(), "example.test.") {
		t.Errorf("CanRoute = %v, want bad input naming both zones", err)
	}
}
