package lb

import (
	"slices"
	"sync/atomic"
)

// side is one of a route's two target sets.
type side uint8

const (
	stable side = iota
	canary
)

func (s side) String() string {
	if s == canary {
		return SideCanary
	}
	return SideStable
}

func (s side) other() side { return 1 - s }

// targetSet is one side's targets. It is never modified once published.
type targetSet []*target

// routing is a route's active targets: the stable and canary sets and the
// canary's share of new requests. It is never modified once published: a
// switch stores a new one.
type routing struct {
	sets   [2]targetSet // by side
	weight int          // canary percent, 0–100
}

// split reports whether the route has a canary set.
func (r *routing) split() bool { return len(r.sets[canary]) > 0 }

// all returns the stable targets, then the canary ones.
func (r *routing) all() []*target { return slices.Concat(r.sets[stable], r.sets[canary]) }

// balancer picks a target for each request: a side by weight (or by the
// client's sticky preference), then round robin within the side.
type balancer struct {
	cur   atomic.Pointer[routing]
	next  [2]atomic.Uint64 // round robin, by side
	draws atomic.Uint64    // weighted side choices
}

// load returns the current routing (never nil once the route exists).
func (b *balancer) load() *routing { return b.cur.Load() }

func (b *balancer) store(r *routing) { b.cur.Store(r) }

// weighted picks a side by the canary weight. The choice is spread evenly
// rather than drawn at random: of every 100 requests, exactly weight go to
// the canary, interleaved with the others.
func (b *balancer) weighted(r *routing) side {
	switch {
	case r.weight <= 0 || !r.split():
		return stable
	case r.weight >= 100:
		return canary
	}
	n, w := b.draws.Add(1), uint64(r.weight)
	if n*w%100 < w {
		return canary
	}
	return stable
}

// acquire picks a target not in tried, from side pref when it has a
// healthy one, else from the other side, and counts a request in on it.
// When no untried target is healthy it still picks one (pref's side
// first): a probe that fails (a slow health endpoint, a flapping check)
// should not turn a service that may still answer into certain 503s, and
// a target that cannot be reached at all is retried on the next one. It
// returns nil when every active target was tried.
func (b *balancer) acquire(pref side, tried []*target) (*target, side) {
	for {
		r := b.load()
		t, s := b.pick(r, pref, tried)
		if t == nil {
			return nil, pref
		}
		if t.acquire() {
			return t, s
		}
		// t was retired after we loaded r: a new routing is published,
		// pick again from it.
	}
}

func (b *balancer) pick(r *routing, pref side, tried []*target) (*target, side) {
	h, f := r.sets[pref].pick(b.next[pref].Add(1), tried)
	if h != nil {
		return h, pref
	}
	o := pref.other()
	if len(r.sets[o]) == 0 {
		return f, pref
	}
	h2, f2 := r.sets[o].pick(b.next[o].Add(1), tried)
	switch {
	case h2 != nil:
		return h2, o
	case f != nil:
		return f, pref
	}
	return f2, o
}

// pick returns the first healthy target not in tried, starting at n, and
// the first untried one whatever its health.
func (s targetSet) pick(n uint64, tried []*target) (healthy, fallback *target) {
	l := uint64(len(s))
	for i := range l {
		t := s[(n+i)%l]
		if len(tried) > 0 && slices.Contains(tried, t) {
			continue
		}
		if t.healthy.Load() {
			return t, fallback
		}
		if fallback == nil {
			fallback = t
		}
	}
	return nil, fallback
}
