package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wait is how long a test waits for something that should happen in
// milliseconds: generous, for loaded machines.
const wait = 10 * time.Second

// backend is a real HTTP server standing for one container.
type backend struct {
	name    string
	srv     *httptest.Server
	hits    atomic.Int64 // requests other than health probes
	healthy atomic.Bool
	open    atomic.Int64 // open connections

	// /slow announces itself on arrived, then answers when release is
	// closed (or the request ends).
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{
		name:    name,
		arrived: make(chan struct{}, 16),
		release: make(chan struct{}),
	}
	b.healthy.Store(true)
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.open.Add(-1)
		}
	}
	b.srv.Start()
	t.Cleanup(func() {
		b.unblock()
		b.srv.Close()
	})
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

// unblock lets every /slow request answer.
func (b *backend) unblock() { b.once.Do(func() { close(b.release) }) }

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		if !b.healthy.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
		return
	}
	b.hits.Add(1)
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/slow":
		b.arrived <- struct{}{}
		select {
		case <-b.release:
		case <-r.Context().Done():
			return
		}
	case "/headers":
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			fmt.Fprintf(w, "%s: %s\n", k, r.Header.Get(k))
		}
		fmt.Fprintf(w, "Host: %s\n", r.Host)
		return
	}
	fmt.Fprint(w, b.name)
}

// deadAddr is an address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newTestProxy returns a proxy with route r (Listen defaults to an ephemeral
// loopback port) and the URL it serves on; it closes with the test.
func newTestProxy(t *testing.T, r Route) (*Proxy, string) {
	t.Helper()
	p := NewProxy(nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if r.Listen == "" {
		r.Listen = "127.0.0.1:0"
	}
	if r.Name == "" {
		r.Name = "stack/web"
	}
	if err := p.EnsureRoute(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	addr, err := p.Addr(r.Name)
	if err != nil {
		t.Fatal(err)
	}
	return p, "http://" + addr
}

func setTargets(t *testing.T, p *Proxy, route string, addrs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if err := p.SetTargets(ctx, route, addrs); err != nil {
		t.Fatal(err)
	}
}

// newClient returns a client that never re-sends a request: it only sends
// POSTs whose bodies cannot be rewound (see post). keepAlive false opens a
// connection per request.
func newClient(t *testing.T, keepAlive bool) *http.Client {
	tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: wait}
}

// post sends a POST with a body and answers the status and body. Without
// GetBody the transport cannot replay it, so every failure surfaces.
func post(c *http.Client, url, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.GetBody = nil
	return do(c, req)
}

func get(c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	return do(c, req)
}

func do(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// targetStatus returns addr's status on route, if listed.
func targetStatus(p *Proxy, route, addr string) (TargetStatus, bool) {
	for _, rs := range p.Status() {
		if rs.Route.Name != route {
			continue
		}
		for _, ts := range rs.Targets {
			if ts.Addr == addr {
				return ts, true
			}
		}
	}
	return TargetStatus{}, false
}

// contextWithWait returns the test's context bounded by wait.
func contextWithWait(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), wait)
}
