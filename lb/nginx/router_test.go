package nginx

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
)

func TestRouter_SwitchesBlueToGreen(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")

	ensure(t, r, route)
	if a := get(t, route.Listen, "", "/"); a.status != 503 {
		t.Fatalf("a route without targets answered %d %q, want 503", a.status, a.body)
	}
	switchTo(t, r, route.Name, blue)
	first := get(t, route.Listen, "", "/")
	if first.body != "blue" {
		t.Fatalf("after switching to blue nginx answered %q", first.body)
	}
	switchTo(t, r, route.Name, green)
	second := get(t, route.Listen, "", "/")
	if second.body != "green" {
		t.Fatalf("after switching to green nginx answered %q", second.body)
	}
	g1, _ := strconv.Atoi(first.generation)
	g2, _ := strconv.Atoi(second.generation)
	if g1 == 0 || g2 <= g1 {
		t.Errorf("generations %q then %q, want increasing numbers", first.generation, second.generation)
	}
	got, err := r.Targets(context.Background(), route.Name)
	if err != nil || !slices.Equal(got, []string{green}) {
		t.Errorf("Targets = %v, %v; want [%s]", got, err, green)
	}
	st := r.Status()
	if len(st) != 1 || st[0].Route.Name != route.Name || len(st[0].Targets) != 1 ||
		st[0].Targets[0].Addr != green || st[0].Targets[0].State != lb.TargetActive || !st[0].Targets[0].Healthy {
		t.Errorf("Status = %+v, want %s with green active and healthy", st, route.Name)
	}
	if _, err := os.Stat(n.Dir + "/cutover-shop-web.conf"); err != nil {
		t.Errorf("route file: %v", err)
	}
}

func TestRouter_HostRoutesShareAListener(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	a := testRoute(t, "a/web")
	a.Host = "a.example"
	b := a
	b.Name, b.Host = "b/web", "B.example."
	ensure(t, r, a)
	ensure(t, r, b)
	switchTo(t, r, a.Name, blue)
	switchTo(t, r, b.Name, green)
	if got := get(t, a.Listen, "a.example", "/").body; got != "blue" {
		t.Errorf("a.example answered %q, want blue", got)
	}
	if got := get(t, a.Listen, "b.example:80", "/").body; got != "green" {
		t.Errorf("b.example answered %q, want green", got)
	}
}

func TestRouter_EnsureUnchangedRouteDoesNotReload(t *testing.T) {
	blue := backend(t, "blue")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)
	before := get(t, route.Listen, "", "/").generation
	ensure(t, r, route)
	if after := get(t, route.Listen, "", "/").generation; after != before {
		t.Errorf("EnsureRoute of an unchanged route wrote generation %s (was %s)", after, before)
	}
	route.Health.Path = "/other"
	ensure(t, r, route)
	a := get(t, route.Listen, "", "/")
	if a.generation == before || a.body != "blue" {
		t.Errorf("a changed route answered %q from generation %s (was %s); want blue from a new one", a.body, a.generation, before)
	}
}

func TestRouter_RejectedConfigKeepsServingAndRestoresTheFile(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)
	path := n.Dir + "/cutover-shop-web.conf"
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	r.extra = "bogus_directive on;"
	err = r.SetTargets(context.Background(), route.Name, []string{green})
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "[emerg]") || !strings.Contains(err.Error(), "bogus_directive") {
		t.Fatalf("SetTargets with a directive nginx does not know: %v; want ErrRejected quoting nginx's [emerg] message", err)
	}
	if got := get(t, route.Listen, "", "/").body; got != "blue" {
		t.Errorf("after the rejected switch nginx answered %q, want blue", got)
	}
	if now, _ := os.ReadFile(path); string(now) != string(good) {
		t.Errorf("the route file was not restored:\n%s", now)
	}
	if got, _ := r.Targets(context.Background(), route.Name); !slices.Equal(got, []string{blue}) {
		t.Errorf("Targets = %v after the rejected switch, want [%s]", got, blue)
	}

	// The next good switch works.
	r.extra = ""
	switchTo(t, r, route.Name, green)
	if got := get(t, route.Listen, "", "/").body; got != "green" {
		t.Errorf("after a good switch nginx answered %q, want green", got)
	}
}

func TestRouter_RejectedNewRouteIsNotAdded(t *testing.T) {
	blue := backend(t, "blue")
	n := startNginx(t)
	r := newRouter(t, n.config())
	first := testRoute(t, "shop/web")
	ensure(t, r, first)
	switchTo(t, r, first.Name, blue)

	// A second route taking every host on the same address: nginx refuses
	// two default servers.
	second := first
	second.Name = "shop/admin"
	err := r.EnsureRoute(context.Background(), second)
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "duplicate default server") {
		t.Fatalf("EnsureRoute of a second default server: %v; want ErrRejected quoting nginx", err)
	}
	if _, err := os.Stat(n.Dir + "/cutover-shop-admin.conf"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused route's file is still there: %v", err)
	}
	if got := get(t, first.Listen, "", "/").body; got != "blue" {
		t.Errorf("nginx answered %q, want blue", got)
	}
	if st := r.Status(); len(st) != 1 {
		t.Errorf("Status lists %d routes, want 1", len(st))
	}
}

func TestRouter_ReloadFailureWhenNginxIsNotRunning(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)
	n.stop()

	err := r.SetTargets(context.Background(), route.Name, []string{green})
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrReload) || !strings.Contains(err.Error(), "nginx.pid") {
		t.Fatalf("SetTargets with nginx stopped: %v; want ErrReload quoting nginx", err)
	}
	if got, _ := r.Targets(context.Background(), route.Name); !slices.Equal(got, []string{blue}) {
		t.Errorf("Targets = %v after the failed reload, want [%s]", got, blue)
	}
}

func TestRouter_VerifyTimeoutWhenNginxCannotListen(t *testing.T) {
	n := startNginx(t)
	cfg := n.config()
	cfg.VerifyTimeout = time.Second
	r := newRouter(t, cfg)
	// Something else holds the address: nginx -t passes (it binds
	// nothing), the reload fails inside nginx, and nothing answers.
	l, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	route := lb.Route{Name: "shop/web", Listen: l.Addr().String()}

	err = r.EnsureRoute(context.Background(), route)
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("EnsureRoute on a taken address: %v; want ErrVerify quoting nginx's error log", err)
	}
	if st := r.Status(); len(st) != 0 {
		t.Errorf("Status = %+v, want no route", st)
	}
}

func TestRouter_RestartReadsTheRoutesBack(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)
	before := get(t, route.Listen, "", "/").generation

	again := newRouter(t, n.config())
	got, err := again.Targets(context.Background(), route.Name)
	if err != nil || !slices.Equal(got, []string{blue}) {
		t.Fatalf("a new router on the same directory: Targets = %v, %v; want [%s]", got, err, blue)
	}
	if st := again.Status(); len(st) != 1 || st[0].Route.Listen != route.Listen {
		t.Errorf("a new router's Status = %+v, want the route", st)
	}
	switchTo(t, again, route.Name, green)
	a := get(t, route.Listen, "", "/")
	b, _ := strconv.Atoi(before)
	if g, _ := strconv.Atoi(a.generation); a.body != "green" || g <= b {
		t.Errorf("after a switch by the new router: %q from generation %s (was %s)", a.body, a.generation, before)
	}
}

func TestRouter_RemoveRoute(t *testing.T) {
	blue := backend(t, "blue")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)

	if err := r.RemoveRoute(context.Background(), route.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.Dir + "/cutover-shop-web.conf"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("route file after RemoveRoute: %v", err)
	}
	// The reload has happened; new workers no longer listen there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := tryGet(route.Listen, "", "/")
		if isConnRefused(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx still answers on %s after RemoveRoute: %v", route.Listen, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.RemoveRoute(context.Background(), route.Name); !errors.Is(err, lb.ErrNoRoute) {
		t.Errorf("removing it again: %v, want ErrNoRoute", err)
	}
	if err := r.SetTargets(context.Background(), route.Name, []string{blue}); !errors.Is(err, lb.ErrNoRoute) {
		t.Errorf("SetTargets on a removed route: %v, want ErrNoRoute", err)
	}
}

func TestRouter_CheckTargetsNamesTheUnhealthyTarget(t *testing.T) {
	blue := backend(t, "blue")
	sick := unhealthyBackend(t)
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := r.CheckTargets(ctx, route.Name, []string{blue, sick})
	if !errors.Is(err, lb.ErrUnhealthy) || !strings.Contains(err.Error(), sick) || !strings.Contains(err.Error(), "status 503") ||
		strings.Contains(err.Error(), blue) {
		t.Fatalf("CheckTargets: %v; want ErrUnhealthy naming only %s and its 503", err, sick)
	}
	// Without a health path a TCP connect is the check.
	route.Health.Path = ""
	ensure(t, r, route)
	if err := r.CheckTargets(context.Background(), route.Name, []string{sick}); err != nil {
		t.Errorf("TCP check of a listening target: %v", err)
	}
}

func TestRouter_SetTargetsWaitsForRequestsOnTheOldTargets(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	blue := serve(t, appHandler("blue", func() {
		close(started)
		<-release
	}))
	green := backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)

	slow := make(chan answer, 1)
	go func() {
		a, _ := tryGet(route.Listen, "", "/slow")
		slow <- a
	}()
	<-started
	switched := make(chan error, 1)
	go func() { switched <- r.SetTargets(context.Background(), route.Name, []string{green}) }()

	// New requests reach green while the slow one is still on blue.
	deadline := time.Now().Add(10 * time.Second)
	for get(t, route.Listen, "", "/").body != "green" {
		if time.Now().After(deadline) {
			t.Fatal("nginx never answered green")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The switch is done; blue drains as long as its request runs.
	for {
		st := r.Status()
		if len(st) == 1 && len(st[0].Targets) == 2 && st[0].Targets[1].Addr == blue && st[0].Targets[1].State == lb.TargetDraining {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Status never showed blue draining: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-switched:
		t.Fatalf("SetTargets returned (%v) while a request was still running on blue", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-switched; err != nil {
		t.Fatal(err)
	}
	if a := <-slow; a.body != "blue" {
		t.Errorf("the request running during the switch got %q, want blue", a.body)
	}
}

func TestRouter_RefusesValuesThatWouldChangeTheConfig(t *testing.T) {
	n := startNginx(t)
	r := newRouter(t, n.config())
	for _, tc := range []struct {
		desc  string
		route lb.Route
	}{
		{"host with a semicolon", lb.Route{Name: "a/b", Listen: "127.0.0.1:1", Host: "a.example; return 200"}},
		{"host with a brace", lb.Route{Name: "a/b", Listen: "127.0.0.1:1", Host: "a}"}},
		{"listen without a port", lb.Route{Name: "a/b", Listen: "127.0.0.1"}},
		{"listen with a directive", lb.Route{Name: "a/b", Listen: "x;y:80"}},
		{"no name", lb.Route{Listen: "127.0.0.1:1"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if err := r.EnsureRoute(context.Background(), tc.route); !errors.Is(err, lb.ErrInvalid) {
				t.Errorf("EnsureRoute(%+v) = %v, want ErrInvalid", tc.route, err)
			}
		})
	}
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	for _, addr := range []string{"10.0.0.1:80; server evil:1", "10.0.0.1", "10.0.0.1:0", ":80"} {
		if err := r.SetTargets(context.Background(), route.Name, []string{addr}); !errors.Is(err, lb.ErrInvalid) {
			t.Errorf("SetTargets(%q) = %v, want ErrInvalid", addr, err)
		}
	}
}
