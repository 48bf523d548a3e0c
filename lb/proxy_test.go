package lb

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
)

func TestProxy_RoundRobin(t *testing.T) {
	bs := []*backend{newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")}
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", bs[0].addr(), bs[1].addr(), bs[2].addr())

	c := newClient(t, true)
	for range 30 {
		if code, body, err := post(c, url, "x"); err != nil || code != http.StatusOK {
			t.Fatalf("POST: %d %q %v", code, body, err)
		}
	}
	for _, b := range bs {
		if n := b.hits.Load(); n != 10 {
			t.Errorf("backend %s got %d of 30 requests, want 10", b.name, n)
		}
	}
}

func TestProxy_NoTargets503(t *testing.T) {
	p, url := newTestProxy(t, Route{})
	code, body, err := get(newClient(t, true), url)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no ready targets for route stack/web") {
		t.Errorf("got %d %q, want 503 naming the route", code, body)
	}

	// Emptying the active set is allowed and answers 503 again.
	b := newBackend(t, "a")
	setTargets(t, p, "stack/web", b.addr())
	setTargets(t, p, "stack/web")
	if code, _, _ := get(newClient(t, true), url); code != http.StatusServiceUnavailable {
		t.Errorf("after SetTargets(nil): %d, want 503", code)
	}
}

func TestProxy_HostRouting(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, url := newTestProxy(t, Route{Name: "one/a", Host: "A.Example"})
	listen, _ := p.Addr("one/a")
	if err := p.EnsureRoute(t.Context(), Route{Name: "two/b", Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Addr("two/b"); got != listen {
		t.Fatalf("routes on one listen address got two listeners: %s and %s", listen, got)
	}
	setTargets(t, p, "one/a", a.addr())
	setTargets(t, p, "two/b", b.addr())

	c := newClient(t, true)
	for _, tc := range []struct {
		desc, host, want string
	}{
		{"exact host", "a.example", "a"},
		{"host with port and other case", "A.EXAMPLE:8080", "a"},
		{"trailing dot", "a.example.", "a"},
		{"other host goes to the default route", "b.example", "b"},
		{"address as host", listen, "b"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Host = tc.host
			code, body, err := do(c, req)
			if err != nil || code != http.StatusOK || body != tc.want {
				t.Errorf("Host %q: %d %q %v, want 200 %q", tc.host, code, body, err, tc.want)
			}
		})
	}

	err := p.EnsureRoute(t.Context(), Route{Name: "three/c", Listen: "127.0.0.1:0", Host: "a.example"})
	if !errors.Is(err, ErrHostTaken) {
		t.Errorf("second route for host a.example: %v, want ErrHostTaken", err)
	}

	if err := p.RemoveRoute(t.Context(), "two/b"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = "b.example"
	if code, _, _ := do(c, req); code != http.StatusNotFound {
		t.Errorf("host without route after removing the default: %d, want 404", code)
	}
}

func TestProxy_ForwardedHeaders(t *testing.T) {
	b := newBackend(t, "a")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", b.addr())

	req, _ := http.NewRequest(http.MethodGet, url+"/headers", nil)
	req.Host = "app.example"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	code, body, err := do(newClient(t, true), req)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%d %v", code, err)
	}
	want := "X-Forwarded-For: 203.0.113.7, 127.0.0.1\n" +
		"X-Forwarded-Host: app.example\n" +
		"X-Forwarded-Proto: http\n" +
		"Host: app.example\n"
	if body != want {
		t.Errorf("backend saw\n%s\nwant\n%s", body, want)
	}
}

func TestProxy_BindErrorNamesAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	p := NewProxy(nil)
	defer p.Close(context.Background())
	err = p.EnsureRoute(t.Context(), Route{Name: "stack/web", Listen: addr})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("EnsureRoute on a taken address: %v, want an error naming %s", err, addr)
	}
	if _, err := p.Targets(t.Context(), "stack/web"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("a route that failed to bind exists: %v", err)
	}
}

func TestProxy_InvalidInput(t *testing.T) {
	p, _ := newTestProxy(t, Route{})
	for _, tc := range []struct {
		desc string
		err  error
	}{
		{"no name", p.EnsureRoute(t.Context(), Route{Listen: ":0"})},
		{"bad listen", p.EnsureRoute(t.Context(), Route{Name: "x/y", Listen: "8080"})},
		{"bad target", p.SetTargets(t.Context(), "stack/web", []string{"10.0.0.1"})},
		{"bad candidate", p.CheckTargets(t.Context(), "stack/web", []string{":80"})},
	} {
		if !errors.Is(tc.err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.desc, tc.err)
		}
	}
	if err := p.SetTargets(t.Context(), "no/such", nil); !errors.Is(err, ErrNoRoute) {
		t.Errorf("unknown route: %v, want ErrNoRoute", err)
	}
}

func TestProxy_EnsureRouteUpdatesInPlace(t *testing.T) {
	b := newBackend(t, "a")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", b.addr())
	listen, _ := p.Addr("stack/web")

	c := newClient(t, true)
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	send := func() {
		t.Helper()
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, url, nil)
		if code, body, err := do(c, req); err != nil || code != http.StatusOK || body != "a" {
			t.Fatalf("GET: %d %q %v", code, body, err)
		}
	}
	send()

	// Same address, new settings: the listener and the client's connection
	// stay, the targets too.
	upd := Route{Name: "stack/web", Listen: "127.0.0.1:0", Health: Health{Path: "healthz", Interval: 10e6}, DrainTimeout: 5e9}
	if err := p.EnsureRoute(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	send()
	if !reused {
		t.Error("updating the route dropped the client's keep-alive connection")
	}
	if got, _ := p.Targets(t.Context(), "stack/web"); len(got) != 1 || got[0] != b.addr() {
		t.Errorf("targets after update: %v", got)
	}
	st := p.Status()[0].Route
	if st.Health.Path != "/healthz" || st.Health.Interval != 10e6 || st.DrainTimeout != 5e9 || st.Health.UnhealthyThreshold != DefaultUnhealthyThreshold {
		t.Errorf("route after update: %+v", st)
	}

	// A new address: the route moves, the old listener closes.
	upd.Listen = deadAddr(t)
	if err := p.EnsureRoute(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	moved, _ := p.Addr("stack/web")
	if moved != upd.Listen {
		t.Fatalf("route listens on %s, want %s", moved, upd.Listen)
	}
	if code, body, err := get(c, "http://"+moved); err != nil || code != http.StatusOK || body != "a" {
		t.Errorf("GET on the new address: %d %q %v", code, body, err)
	}
	if conn, err := net.Dial("tcp", listen); err == nil {
		conn.Close()
		t.Errorf("old address %s still accepts connections", listen)
	}
}

func TestProxy_RemoveRouteFreesAddress(t *testing.T) {
	b := newBackend(t, "a")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", b.addr())
	listen, _ := p.Addr("stack/web")
	if code, _, err := get(newClient(t, false), url); err != nil || code != http.StatusOK {
		t.Fatalf("GET: %d %v", code, err)
	}
	if err := p.RemoveRoute(t.Context(), "stack/web"); err != nil {
		t.Fatal(err)
	}
	if len(p.Status()) != 0 {
		t.Errorf("status after remove: %+v", p.Status())
	}
	eventually(t, "the removed route's backend connections close", func() bool { return b.open.Load() == 0 })
	if err := p.EnsureRoute(t.Context(), Route{Name: "stack/web", Listen: listen}); err != nil {
		t.Errorf("binding the freed address again: %v", err)
	}
	if err := p.RemoveRoute(t.Context(), "no/such"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("removing an unknown route: %v", err)
	}
}

func TestProxy_Close(t *testing.T) {
	b := newBackend(t, "a")
	p := NewProxy(nil)
	if err := p.EnsureRoute(t.Context(), Route{Name: "stack/web", Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	addr, _ := p.Addr("stack/web")
	setTargets(t, p, "stack/web", b.addr())

	// A request in flight when Close starts still completes.
	slow := make(chan error, 1)
	go func() {
		code, body, err := get(newClient(t, true), "http://"+addr+"/slow")
		if err == nil && (code != http.StatusOK || body != "a") {
			err = errors.New("slow request: " + body)
		}
		slow <- err
	}()
	<-b.arrived
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		closed <- p.Close(ctx)
	}()
	eventually(t, "the listener stops accepting", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	b.unblock()
	if err := <-slow; err != nil {
		t.Errorf("request in flight during Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	eventually(t, "backend connections close", func() bool { return b.open.Load() == 0 })
	if err := p.EnsureRoute(t.Context(), Route{Name: "x/y", Listen: "127.0.0.1:0"}); !errors.Is(err, ErrClosed) {
		t.Errorf("EnsureRoute after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
