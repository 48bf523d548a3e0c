package dns

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
)

func TestCheckTargets_WaitsForTheHealthPath(t *testing.T) {
	ctx := t.Context()
	var calls atomic.Int32
	var host atomic.Value
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.Store(r.Host)
		if r.URL.Path != "/healthz" || calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(app.Close)
	s, err := NewServer(ServerConfig{Zone: testZone, Listen: "127.0.0.1:0"}, nil)
	must(t, err)
	must(t, s.EnsureRoute(ctx, appRoute()))

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.CheckTargets(ctx, "shop/web", []string{app.Listener.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n < 3 {
		t.Errorf("passed after %d probes; the first two failed", n)
	}
	if h := host.Load(); h != "app.example.test" {
		t.Errorf("probe Host header %q, want the route's host", h)
	}
	if targets, _ := s.Targets(ctx, "shop/web"); len(targets) != 0 {
		t.Errorf("CheckTargets routed to %v", targets)
	}
}

func TestCheckTargets_FailsNamingTheTarget(t *testing.T) {
	ctx := t.Context()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(sick.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := ln.Addr().String()
	ln.Close()

	s, err := NewServer(ServerConfig{Zone: testZone, Listen: "127.0.0.1:0"}, nil)
	must(t, err)
	must(t, s.EnsureRoute(ctx, appRoute()))
	must(t, s.EnsureRoute(ctx, lb.Route{Name: "shop/tcp", Host: "tcp.example.test"}))

	for _, tc := range []struct {
		route, target, says string
	}{
		{"shop/web", sick.Listener.Addr().String(), "status 500"},
		{"shop/tcp", closed, "refused"},
	} {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := s.CheckTargets(ctx, tc.route, []string{tc.target})
		cancel()
		if !errors.Is(err, lb.ErrUnhealthy) || !strings.Contains(err.Error(), tc.target) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want ErrUnhealthy naming %s and %q", tc.route, err, tc.target, tc.says)
		}
	}
	// A TCP route passes on a listening port.
	open, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer open.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.CheckTargets(ctx, "shop/tcp", []string{open.Addr().String()}); err != nil {
		t.Errorf("TCP check of a listening port: %v", err)
	}
}
