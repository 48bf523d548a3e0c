package webhook

import (
	"sync"
	"time"
)

// Defaults of NewDedupe.
const (
	DefaultDedupeTTL  = 10 * time.Minute
	DefaultDedupeSize = 1024
)

// Dedupe remembers recently seen push keys (Push.Key) so a push delivered
// twice is acted on once. It holds at most max keys, each for ttl; when
// full, the oldest key is forgotten first. Safe for concurrent use.
type Dedupe struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	seen  map[string]time.Time
	order []dedupeEntry // insertion order, oldest first
}

type dedupeEntry struct {
	key string
	at  time.Time
}

// NewDedupe returns a Dedupe keeping up to max keys (DefaultDedupeSize when
// max <= 0) for ttl each (DefaultDedupeTTL when ttl <= 0).
func NewDedupe(ttl time.Duration, max int) *Dedupe {
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	if max <= 0 {
		max = DefaultDedupeSize
	}
	return &Dedupe{ttl: ttl, max: max, now: time.Now, seen: map[string]time.Time{}}
}

// Seen records key and reports whether it had already been recorded less
// than the TTL ago. A repeat does not extend the first sighting's TTL. The
// empty key is never seen (see Push.Key).
func (d *Dedupe) Seen(key string) bool {
	if key == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if at, ok := d.seen[key]; ok && now.Sub(at) < d.ttl {
		return true
	}
	d.seen[key] = now
	d.order = append(d.order, dedupeEntry{key, now})
	d.evict(now)
	return false
}

// Len is how many keys are remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

// evict forgets expired keys and, past max, the oldest ones.
func (d *Dedupe) evict(now time.Time) {
	for len(d.order) > 0 {
		front := d.order[0]
		current, ok := d.seen[front.key]
		stale := !ok || !current.Equal(front.at) // the key was recorded again later
		if !stale && now.Sub(front.at) < d.ttl && len(d.seen) <= d.max {
			return
		}
		if !stale {
			delete(d.seen, front.key)
		}
		d.order[0] = dedupeEntry{}
		d.order = d.order[1:]
	}
}
