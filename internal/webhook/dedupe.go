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

// Dedupe drops a push delivered twice: it remembers, per source and
// repo:tag, the last push seen (its Push.Key), and a push is a duplicate
// only when it repeats that last push within the TTL. So a registry's
// retry, or GitHub's package + registry_package pair, is acted on once,
// while a tag moved back to an image it named a moment ago (A → B → A, a
// rollback by re-push) is a new push. It holds at most max tags, each for
// ttl; when full, the oldest is forgotten first. Safe for concurrent use.
type Dedupe struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	last  map[string]lastPush // by Push.slot
	order []dedupeEntry       // recording order, oldest first
	seq   uint64
}

// lastPush is the last push recorded for a slot.
type lastPush struct {
	key string
	at  time.Time
	seq uint64
}

type dedupeEntry struct {
	slot string
	seq  uint64
}

// NewDedupe returns a Dedupe keeping up to max tags (DefaultDedupeSize when
// max <= 0) for ttl each (DefaultDedupeTTL when ttl <= 0).
func NewDedupe(ttl time.Duration, max int) *Dedupe {
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	if max <= 0 {
		max = DefaultDedupeSize
	}
	return &Dedupe{ttl: ttl, max: max, now: time.Now, last: map[string]lastPush{}}
}

// Seen reports whether p repeats the last push seen for its source and
// repo:tag less than the TTL ago, and otherwise records p as that last
// push. A repeat does not extend the first sighting's TTL. A push whose
// Key is empty (nothing tells it apart) is never seen, and makes the next
// push of its tag new whatever it names: the tag may have moved.
func (d *Dedupe) Seen(p Push) bool { return d.SeenIn("", p) }

// SeenIn is Seen within a scope: the stacks a hook's secret may deploy.
// Pushes are told apart per scope, so a delivery authenticated for one
// stack (its own secret) does not make the same push, delivered for
// another stack with that stack's secret, a duplicate; nor can whoever
// holds one secret pre-empt the delivery meant for another.
func (d *Dedupe) SeenIn(scope string, p Push) bool {
	slot, key := scope+"\x00"+p.slot(), p.Key()
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	prev, ok := d.last[slot]
	if key == "" {
		delete(d.last, slot)
		return false
	}
	if ok && prev.key == key && now.Sub(prev.at) < d.ttl {
		return true
	}
	d.seq++
	d.last[slot] = lastPush{key: key, at: now, seq: d.seq}
	d.order = append(d.order, dedupeEntry{slot, d.seq})
	d.evict(now)
	return false
}

// Forget undoes Seen for a push that was recorded but not acted on (the
// daemon answered 503): the sender's retry must not count as a duplicate.
// It does nothing when a later push of the tag was recorded since.
func (d *Dedupe) Forget(p Push) { d.ForgetIn("", p) }

// ForgetIn is Forget within a scope (see SeenIn).
func (d *Dedupe) ForgetIn(scope string, p Push) {
	d.mu.Lock()
	defer d.mu.Unlock()
	slot := scope + "\x00" + p.slot()
	if prev, ok := d.last[slot]; ok && prev.key == p.Key() {
		delete(d.last, slot)
	}
}

// Len is how many tags are remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.last)
}

// evict forgets expired tags and, past max, the oldest ones.
func (d *Dedupe) evict(now time.Time) {
	for len(d.order) > 0 {
		front := d.order[0]
		current, ok := d.last[front.slot]
		stale := !ok || current.seq != front.seq // forgotten, or recorded again later
		if !stale && now.Sub(current.at) < d.ttl && len(d.last) <= d.max {
			return
		}
		if !stale {
			delete(d.last, front.slot)
		}
		d.order[0] = dedupeEntry{}
		d.order = d.order[1:]
	}
}
