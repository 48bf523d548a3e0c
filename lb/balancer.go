package lb

import (
	"slices"
	"sync/atomic"
)

// targetSet is a route's active targets. It is never modified once
// published: a switch stores a new one.
type targetSet []*target

// roundRobin picks targets from a route's active set in turn.
type roundRobin struct {
	active atomic.Pointer[targetSet]
	next   atomic.Uint64
}

// load returns the current active set (never nil once the route exists).
func (b *roundRobin) load() targetSet { return *b.active.Load() }

func (b *roundRobin) store(s targetSet) { b.active.Store(&s) }

// acquire picks the next target not in tried and counts a request in on
// it. Healthy targets come first. When every untried target is
// unhealthy it still picks one of them: a probe that fails (a slow health
// endpoint, a flapping check) should not turn a service that may still
// answer into certain 503s, and a target that cannot be reached at all is
// retried on the next one. It returns nil when every active target was
// tried.
func (b *roundRobin) acquire(tried []*target) *target {
	for {
		set := b.load()
		t := set.pick(b.next.Add(1), tried)
		if t == nil {
			return nil
		}
		if t.acquire() {
			return t
		}
		// t was retired after we loaded set: a new set is published,
		// pick again from it.
	}
}

// pick returns the first healthy target not in tried, starting at n,
// else the first untried one, else nil.
func (s targetSet) pick(n uint64, tried []*target) *target {
	l := uint64(len(s))
	if l == 0 {
		return nil
	}
	var fallback *target
	for i := range l {
		t := s[(n+i)%l]
		if len(tried) > 0 && slices.Contains(tried, t) {
			continue
		}
		if t.healthy.Load() {
			return t
		}
		if fallback == nil {
			fallback = t
		}
	}
	return fallback
}
