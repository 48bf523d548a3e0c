// Package daemontest is a small in-memory proxy router for tests of the
// daemon and the CLI that need a router but not real traffic. Behaviour
// that moves traffic is tested against lb.Proxy itself.
package daemontest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/cutover/cutover/lb"
)

// Proxy is an in-memory stand-in for lb.Proxy: routes and their active
// targets, every target healthy, nothing listening.
type Proxy struct {
	mu      sync.Mutex
	routes  map[string]lb.Route
	targets map[string][]string
	closed  bool
}

// NewProxy returns a proxy with no routes.
func NewProxy() *Proxy {
	return &Proxy{routes: map[string]lb.Route{}, targets: map[string][]string{}}
}

// EnsureRoute creates or updates a route.
func (p *Proxy) EnsureRoute(_ context.Context, r lb.Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return lb.ErrClosed
	}
	if r.Name == "" {
		return fmt.Errorf("%w: route has no name", lb.ErrInvalid)
	}
	p.routes[r.Name] = r
	if _, ok := p.targets[r.Name]; !ok {
		p.targets[r.Name] = []string{}
	}
	return nil
}

// RemoveRoute removes a route.
func (p *Proxy) RemoveRoute(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.routes[name]; !ok {
		return fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	delete(p.routes, name)
	delete(p.targets, name)
	return nil
}

// CheckTargets passes for any address of an existing route.
func (p *Proxy) CheckTargets(_ context.Context, name string, _ []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.routes[name]; !ok {
		return fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	return nil
}

// SetTargets replaces the route's active targets.
func (p *Proxy) SetTargets(_ context.Context, name string, addrs []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.routes[name]; !ok {
		return fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	p.targets[name] = slices.Clone(addrs)
	return nil
}

// Targets returns the route's active targets.
func (p *Proxy) Targets(_ context.Context, name string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.routes[name]; !ok {
		return nil, fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	return slices.Clone(p.targets[name]), nil
}

// Status returns every route with its targets (all active and healthy),
// sorted by name.
func (p *Proxy) Status() []lb.RouteStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]lb.RouteStatus, 0, len(p.routes))
	for name, r := range p.routes {
		st := lb.RouteStatus{Route: r, Targets: []lb.TargetStatus{}}
		for _, a := range p.targets[name] {
			st.Targets = append(st.Targets, lb.TargetStatus{Addr: a, State: lb.TargetActive, Healthy: true})
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route.Name < out[j].Route.Name })
	return out
}

// Close marks the proxy closed.
func (p *Proxy) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Closed reports whether Close was called.
func (p *Proxy) Closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
