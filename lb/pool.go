package lb

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// pool is a route at run time: its settings, its targets (active, candidate,
// draining) and the handler that forwards its requests.
type pool struct {
	cfg     atomic.Pointer[Route]
	log     *slog.Logger
	lb      roundRobin
	handler http.Handler
	// ctx ends when the proxy closes; probes derive from it.
	ctx    context.Context
	probes *probeGroup

	// listen is the key of the listener serving the route (under Proxy.mu).
	listen string

	mu         sync.Mutex // serializes switches; guards the sets below
	candidates map[*target]struct{}
	draining   map[*target]struct{}
}

func newPool(ctx context.Context, r Route, log *slog.Logger, probes *probeGroup, buffers httputil.BufferPool) *pool {
	p := &pool{
		log:        log.With("route", r.Name),
		ctx:        ctx,
		probes:     probes,
		listen:     r.Listen,
		candidates: make(map[*target]struct{}),
		draining:   make(map[*target]struct{}),
	}
	p.cfg.Store(&r)
	p.lb.store(nil)
	p.handler = newForwarder(p, buffers)
	return p
}

// config returns the route's current settings, defaults applied.
func (p *pool) config() Route { return *p.cfg.Load() }

func (p *pool) name() string { return p.cfg.Load().Name }

// switchTo makes addrs the active set in one atomic store and returns the
// targets that left it, already retired (draining). Targets that stay keep
// their connections, health and probe; new ones join healthy and are probed
// from then on.
func (p *pool) switchTo(addrs []string) (left []*target) {
	p.mu.Lock()
	old := p.lb.load()
	byAddr := make(map[string]*target, len(old))
	for _, t := range old {
		byAddr[t.addr] = t
	}
	next := make(targetSet, 0, len(addrs))
	for _, a := range addrs {
		t, ok := byAddr[a]
		if ok {
			delete(byAddr, a)
		} else {
			t = newTarget(a, TargetActive, p.drainedTarget)
			p.startProbe(t)
		}
		next = append(next, t)
	}
	p.lb.store(next)
	for _, t := range old {
		if _, gone := byAddr[t.addr]; gone {
			p.draining[t] = struct{}{}
			left = append(left, t)
		}
	}
	p.mu.Unlock()

	// Retire only after the store: from here no request picks them, and
	// those that picked them just before back out (see target.acquire).
	for _, t := range left {
		t.retire()
	}
	return left
}

// startProbe watches t's health until it is retired or the proxy closes.
func (p *pool) startProbe(t *target) {
	ctx, cancel := context.WithCancel(p.ctx)
	t.stopProbe = cancel
	p.probes.Go(func() { p.watch(ctx, t) })
}

// drainedTarget forgets a target that finished draining.
func (p *pool) drainedTarget(t *target) {
	p.mu.Lock()
	delete(p.draining, t)
	p.mu.Unlock()
	p.log.Debug("target drained", "target", t.addr)
}

func (p *pool) addCandidate(t *target) {
	p.mu.Lock()
	p.candidates[t] = struct{}{}
	p.mu.Unlock()
}

func (p *pool) removeCandidate(t *target) {
	p.mu.Lock()
	delete(p.candidates, t)
	p.mu.Unlock()
}

// addrs returns the active targets' addresses in rotation order.
func (p *pool) addrs() []string {
	set := p.lb.load()
	out := make([]string, len(set))
	for i, t := range set {
		out[i] = t.addr
	}
	return out
}

// status returns the route with its active targets in rotation order,
// then draining and candidate targets by address.
func (p *pool) status() RouteStatus {
	rs := RouteStatus{Route: p.config(), Targets: []TargetStatus{}}
	for _, t := range p.lb.load() {
		rs.Targets = append(rs.Targets, t.status())
	}
	p.mu.Lock()
	var others []TargetStatus
	for t := range p.draining {
		others = append(others, t.status())
	}
	for t := range p.candidates {
		others = append(others, t.status())
	}
	p.mu.Unlock()
	slices.SortFunc(others, func(a, b TargetStatus) int {
		if c := strings.Compare(string(a.State), string(b.State)); c != 0 {
			return -c // draining before candidate
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	rs.Targets = append(rs.Targets, others...)
	return rs
}

// close drops every connection to the route's targets (the proxy is
// closed: nothing is in flight any more).
func (p *pool) close() {
	p.mu.Lock()
	ts := slices.Clone(p.lb.load())
	for t := range p.draining {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.transport.CloseIdleConnections()
		t.conns.closeAll()
	}
}
