package lb

import (
	"context"
	"log/slog"
)

// Proxy is the built-in reverse proxy router. It is safe for concurrent use.
//
// PLACEHOLDER SIGNATURES: the implementation replaces every body below.
type Proxy struct {
	log *slog.Logger
}

// NewProxy returns a proxy with no routes.
func NewProxy(logger *slog.Logger) *Proxy { return &Proxy{log: logger} }

// EnsureRoute creates or updates a route, binding its listener if no other
// route uses it yet. Binding errors name the address.
func (p *Proxy) EnsureRoute(ctx context.Context, r Route) error { panic("lb: not implemented") }

// RemoveRoute drains the route's targets and removes it; the listener
// closes when no route is left on it.
func (p *Proxy) RemoveRoute(ctx context.Context, name string) error { panic("lb: not implemented") }

// CheckTargets probes addrs with the route's health check until each is
// healthy, or fails when ctx ends, naming the target and its last error.
// The targets receive no traffic meanwhile (the candidate slot).
func (p *Proxy) CheckTargets(ctx context.Context, name string, addrs []string) error {
	panic("lb: not implemented")
}

// SetTargets atomically makes addrs the route's active targets. Targets
// leaving the active set get no new requests and drain; SetTargets returns
// once they have no request in flight or the route's DrainTimeout passed.
func (p *Proxy) SetTargets(ctx context.Context, name string, addrs []string) error {
	panic("lb: not implemented")
}

// Targets returns the route's active target addresses.
func (p *Proxy) Targets(ctx context.Context, name string) ([]string, error) {
	panic("lb: not implemented")
}

// Status returns every route with its targets, sorted by route name.
func (p *Proxy) Status() []RouteStatus { panic("lb: not implemented") }

// Close stops every listener and waits for in-flight requests until ctx ends.
func (p *Proxy) Close(ctx context.Context) error { panic("lb: not implemented") }
