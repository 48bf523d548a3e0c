package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
)

// Proxy is the built-in reverse proxy router. It is safe for concurrent use.
//
// Each listen address has one listener; the routes on it are told apart by
// the request's Host. Each route round-robins over its active targets and
// switches them atomically (SetTargets, SetSplit): from the switch on, no
// new request goes to a target that left, and the switch returns once
// those targets finished their requests (or the route's drain timeout
// passed). A route with a canary split sends each new request to the
// stable or the canary set by weight (see SetSplit).
type Proxy struct {
	log *slog.Logger
	env *serverEnv

	// ctx ends when the proxy closes: it stops the health probes, ends
	// upgraded connections and aborts drains.
	ctx    context.Context
	cancel context.CancelFunc
	probes probeGroup

	mu        sync.Mutex
	routes    map[string]*pool
	listeners map[string]*listener
	closed    bool
}

// NewProxy returns a proxy with no routes. A nil logger discards.
func NewProxy(logger *slog.Logger) *Proxy {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{
		log:       logger,
		env:       &serverEnv{ctx: ctx, buffers: newBufferPool()},
		ctx:       ctx,
		cancel:    cancel,
		routes:    make(map[string]*pool),
		listeners: make(map[string]*listener),
	}
}

// EnsureRoute creates or updates a route, binding its listener if no other
// route uses it yet. Binding errors name the address.
//
// Updating a route keeps its targets and their connections; new health and
// drain settings apply from the next probe and the next switch. A route
// that keeps its listen address keeps its listener (and its clients'
// connections); one that moves binds the new address first, then leaves the
// old one, which closes when no route is left on it.
func (p *Proxy) EnsureRoute(ctx context.Context, r Route) error {
	if err := r.validate(); err != nil {
		return err
	}
	r = r.withDefaults()

	orphan, err := p.ensure(r)
	if orphan != nil {
		err = errors.Join(err, orphan.shutdown(ctx))
	}
	return err
}

// ensure does EnsureRoute's work under p.mu and returns the listener the
// route left if no route is left on it (already no longer accepting).
func (p *Proxy) ensure(r Route) (orphan *listener, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	pl, exists := p.routes[r.Name]
	if !exists {
		pl = newPool(p.ctx, r, p.log, &p.probes)
	}

	l, bound := p.listeners[r.Listen]
	if !bound {
		if l, err = listen(p.env, r.Listen, p.log); err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Name, err)
		}
	}
	table, err := l.routes.Load().with(r.Host, pl)
	if err != nil {
		if !bound {
			l.stopAccepting()
			orphan = l
		}
		return orphan, fmt.Errorf("route %s on %s: %w", r.Name, r.Listen, err)
	}
	if !bound {
		p.listeners[r.Listen] = l
	}
	if exists && pl.listen != r.Listen {
		orphan = p.detach(pl)
	}
	pl.cfg.Store(&r)
	l.routes.Store(table)
	pl.listen = r.Listen
	p.routes[r.Name] = pl
	p.log.Debug("route ensured", "route", r.Name, "listen", r.Listen, "host", r.Host, "new", !exists)
	return orphan, nil
}

// detach takes pl off its listener. When no route is left there, the
// listener stops accepting, leaves the proxy and is returned for the caller
// to shut down once p.mu is released. Call with p.mu held.
func (p *Proxy) detach(pl *pool) (orphan *listener) {
	l := p.listeners[pl.listen]
	if l == nil {
		return nil
	}
	table := l.routes.Load().without(pl)
	l.routes.Store(table)
	if !table.empty() {
		return nil
	}
	delete(p.listeners, l.addr)
	l.stopAccepting()
	return l
}

// RemoveRoute drains the route's targets and removes it; the listener
// closes when no route is left on it. Requests for the route's host get
// the listener's default route, or 404, from the start of the call;
// requests already on the route finish (within its drain timeout).
func (p *Proxy) RemoveRoute(ctx context.Context, name string) error {
	p.mu.Lock()
	pl, ok := p.routes[name]
	if !ok {
		p.mu.Unlock()
		return fmt.Errorf("route %s: %w", name, ErrNoRoute)
	}
	delete(p.routes, name)
	l := p.detach(pl)
	p.mu.Unlock()

	err := pl.drain(ctx, pl.switchTo(nil, nil, 0))
	if l != nil {
		err = errors.Join(err, l.shutdown(ctx))
	}
	p.log.Info("route removed", "route", name)
	return err
}

// CheckTargets probes addrs with the route's health check until each is
// healthy, or fails when ctx ends, naming the target and its last error.
// The targets receive no traffic meanwhile (the candidate slot), and appear
// in Status as candidates until CheckTargets returns. Give ctx a deadline:
// a target that never passes is probed until it ends.
func (p *Proxy) CheckTargets(ctx context.Context, name string, addrs []string) error {
	pl, err := p.route(name)
	if err != nil {
		return err
	}
	addrs, err = uniqueAddrs(name, addrs)
	if err != nil {
		return err
	}
	// Probing stops when the proxy closes, too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(pl.ctx, cancel)()

	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		t := newTarget(a, TargetCandidate, nil)
		t.healthy.Store(false)
		pl.addCandidate(t)
		wg.Go(func() {
			defer pl.removeCandidate(t)
			errs[i] = pl.await(ctx, t)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SetTargets atomically makes addrs the route's active targets, all of them
// stable (it ends a canary split). Targets leaving the active set get no
// new requests and drain; SetTargets returns
// once they have no request in flight, or the route's DrainTimeout passed
// (not an error: their last requests run on). If ctx ends first, the switch
// stands and the error says the drain was cut short. New targets join
// healthy (check them first with CheckTargets) and are probed from then on.
// An empty addrs leaves the route with nothing to serve: its requests get
// 503 until the next SetTargets.
func (p *Proxy) SetTargets(ctx context.Context, name string, addrs []string) error {
	pl, err := p.route(name)
	if err != nil {
		return err
	}
	addrs, err = uniqueAddrs(name, addrs)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	left := pl.switchTo(addrs, nil, 0)
	pl.log.Info("targets switched", "targets", addrs, "draining", len(left))
	return pl.drain(ctx, left)
}

// SetSplit atomically makes s the route's active targets: each new
// request goes to the canary set with probability s.Weight percent (spread
// evenly, not drawn at random), else to the stable set, round robin
// within the set over the targets that pass their probe. When one set has
// no healthy target its requests go to the other. A route with a Sticky
// setting keeps each client on one side (see Sticky).
//
// A target may move between the sets and keeps its connections and
// health; targets leaving both sets drain as with SetTargets, which is
// SetSplit with no canary. New targets join healthy (check them first
// with CheckTargets).
func (p *Proxy) SetSplit(ctx context.Context, name string, s Split) error {
	pl, err := p.route(name)
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%w: route %s: %v", ErrInvalid, name, err)
	}
	stable, err := uniqueAddrs(name, s.Stable)
	if err != nil {
		return err
	}
	canary, err := uniqueAddrs(name, s.Canary)
	if err != nil {
		return err
	}
	for _, a := range canary {
		if slices.Contains(stable, a) {
			return fmt.Errorf("%w: route %s: target %s is both stable and canary", ErrInvalid, name, a)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	left := pl.switchTo(stable, canary, s.Weight)
	pl.log.Info("split set", "stable", stable, "canary", canary, "weight", s.Weight, "draining", len(left))
	return pl.drain(ctx, left)
}

// Targets returns the route's active target addresses, stable ones first.
func (p *Proxy) Targets(ctx context.Context, name string) ([]string, error) {
	pl, err := p.route(name)
	if err != nil {
		return nil, err
	}
	return pl.addrs(), nil
}

// Addr returns the address the route's listener is bound to, which tells
// the port chosen for a Listen address with port 0.
func (p *Proxy) Addr(name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.routes[name]
	if !ok {
		return "", fmt.Errorf("route %s: %w", name, ErrNoRoute)
	}
	return p.listeners[pl.listen].ln.Addr().String(), nil
}

// Status returns every route with its targets, sorted by route name.
func (p *Proxy) Status() []RouteStatus {
	p.mu.Lock()
	pools := make([]*pool, 0, len(p.routes))
	for _, pl := range p.routes {
		pools = append(pools, pl)
	}
	p.mu.Unlock()
	out := make([]RouteStatus, 0, len(pools))
	for _, pl := range pools {
		out = append(out, pl.status())
	}
	slices.SortFunc(out, func(a, b RouteStatus) int {
		switch {
		case a.Route.Name < b.Route.Name:
			return -1
		case a.Route.Name > b.Route.Name:
			return 1
		}
		return 0
	})
	return out
}

// Close stops every listener and waits for in-flight requests until ctx
// ends (then closes their connections), ends upgraded connections, and
// stops the health probes. Every other method fails with ErrClosed after.
func (p *Proxy) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	listeners := make([]*listener, 0, len(p.listeners))
	for _, l := range p.listeners {
		l.stopAccepting()
		listeners = append(listeners, l)
	}
	pools := make([]*pool, 0, len(p.routes))
	for _, pl := range p.routes {
		pools = append(pools, pl)
	}
	p.routes, p.listeners = map[string]*pool{}, map[string]*listener{}
	p.mu.Unlock()

	errs := make([]error, len(listeners))
	var wg sync.WaitGroup
	for i, l := range listeners {
		wg.Go(func() { errs[i] = l.shutdown(ctx) })
	}
	wg.Wait()
	p.cancel()
	p.probes.closeAndWait()
	for _, pl := range pools {
		pl.close()
	}
	return errors.Join(errs...)
}

// route returns the named route.
func (p *Proxy) route(name string) (*pool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	pl, ok := p.routes[name]
	if !ok {
		return nil, fmt.Errorf("route %s: %w", name, ErrNoRoute)
	}
	return pl, nil
}

// uniqueAddrs checks addrs and drops repeats, keeping the first.
func uniqueAddrs(route string, addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return nil, fmt.Errorf("%w: route %s: target %q: %v", ErrInvalid, route, a, err)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
