package lb

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// pool is a route at run time: its settings and its targets (active
// stable and canary, candidate, draining).
type pool struct {
	cfg atomic.Pointer[Route]
	log *slog.Logger
	lb  balancer
	// ctx ends when the proxy closes; probes derive from it.
	ctx    context.Context
	probes *probeGroup

	// listen is the key of the listener serving the route (under Proxy.mu).
	listen string

	mu         sync.Mutex // serializes switches; guards the sets below
	candidates map[*target]struct{}
	draining   map[*target]struct{}
}

func newPool(ctx context.Context, r Route, log *slog.Logger, probes *probeGroup) *pool {
	p := &pool{
		log:        log.With("route", r.Name),
		ctx:        ctx,
		probes:     probes,
		listen:     r.Listen,
		candidates: make(map[*target]struct{}),
		draining:   make(map[*target]struct{}),
	}
	p.cfg.Store(&r)
	p.lb.store(&routing{})
	return p
}

// config returns the route's current settings, defaults applied.
func (p *pool) config() Route { return *p.cfg.Load() }

func (p *pool) name() string { return p.cfg.Load().Name }

// switchTo makes stable and canary the active sets, with the canary's
// weight, in one atomic store and returns the targets that left them,
// already retired (draining). Targets that stay (on either side) keep
// their connections, health and probe; new ones join healthy and are
// probed from then on.
func (p *pool) switchTo(stable, canary []string, weight int) (left []*target) {
	p.mu.Lock()
	old := p.lb.load().all()
	byAddr := make(map[string]*target, len(old))
	for _, t := range old {
		byAddr[t.addr] = t
	}
	next := &routing{weight: weight}
	for s, addrs := range [2][]string{stable, canary} { // by side
		set := make(targetSet, 0, len(addrs))
		for _, a := range addrs {
			t, ok := byAddr[a]
			if ok {
				delete(byAddr, a)
			} else {
				t = newTarget(a, TargetActive, p.drainedTarget)
				p.startProbe(t)
			}
			set = append(set, t)
		}
		next.sets[s] = set
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

// addrs returns the active targets' addresses in rotation order, stable
// ones first.
func (p *pool) addrs() []string { return targetSet(p.lb.load().all()).addrs() }

// status returns the route with its active targets in rotation order
// (stable, then canary), then draining and candidate targets by address.
// When the route has a canary set, each active target shows its side and
// the share of new requests (percent) that side gets.
func (p *pool) status() RouteStatus {
	r := p.lb.load()
	rs := RouteStatus{Route: p.config(), Targets: []TargetStatus{}, Weight: r.weight}
	for s, set := range r.sets {
		for _, t := range set {
			ts := t.status()
			if r.split() {
				ts.Side = side(s).String()
				ts.Weight = r.weight
				if side(s) == stable {
					ts.Weight = 100 - r.weight
				}
			}
			rs.Targets = append(rs.Targets, ts)
		}
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
	ts := p.lb.load().all()
	for t := range p.draining {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.conns.closeAll()
	}
}
