package webhook

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Dedupe.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestDedupe(ttl time.Duration, max int) (*Dedupe, *fakeClock) {
	c := &fakeClock{t: time.Date(2024, 11, 22, 8, 0, 0, 0, time.UTC)}
	d := NewDedupe(ttl, max)
	d.now = c.now
	return d, c
}

// regPush is a registry push of 127.0.0.1:5000/web:tag whose digest is
// made of the hex digit c ("" for none).
func regPush(tag, c string) Push {
	p := Push{Source: SourceRegistry, Repo: "127.0.0.1:5000/web", Tag: tag}
	if c != "" {
		p.Digest = "sha256:" + strings.Repeat(c, 64)
	}
	return p
}

func TestDedupe_TTL(t *testing.T) {
	d, clock := newTestDedupe(time.Minute, 10)
	a := regPush("v1", "a")
	if d.Seen(a) {
		t.Fatal("first sighting reported as seen")
	}
	clock.advance(30 * time.Second)
	if !d.Seen(a) {
		t.Fatal("repeat within the TTL not reported")
	}
	clock.advance(31 * time.Second) // 61 s after the first sighting: a repeat does not extend it
	if d.Seen(a) {
		t.Fatal("repeat after the TTL reported as seen")
	}
	if !d.Seen(a) {
		t.Fatal("the new sighting was not recorded")
	}
}

// A tag moved back to the image it named a moment ago (a rollback by
// re-push) is a new push; only a repeat of the tag's last push is a
// duplicate.
func TestDedupe_TagMovedBackIsNew(t *testing.T) {
	d, clock := newTestDedupe(time.Hour, 10)
	for i, step := range []struct {
		push Push
		dup  bool
	}{
		{regPush("v1", "a"), false},
		{regPush("v1", "a"), true}, // a retry
		{regPush("v1", "b"), false},
		{regPush("v1", "a"), false}, // back to a
		{regPush("v1", "a"), true},  // a retry of that
		{regPush("v2", "b"), false}, // another tag, the same image
		{regPush("v1", "a"), true},  // v1's last push is still a
		{Push{Source: SourceGeneric, Repo: "127.0.0.1:5000/web", Tag: "v1", Digest: regPush("", "a").Digest}, false}, // another source
	} {
		if got := d.Seen(step.push); got != step.dup {
			t.Errorf("step %d, %s from %s: seen = %v, want %v", i, step.push.Image(), step.push.Source, got, step.dup)
		}
		clock.advance(time.Second)
	}
}

// A push without a digest may name anything: after it, the tag's earlier
// push is not the last one any more.
func TestDedupe_PushWithoutKeyResetsTheTag(t *testing.T) {
	d, _ := newTestDedupe(time.Hour, 10)
	d.Seen(regPush("v1", "a"))
	first, second := d.Seen(regPush("v1", "")), d.Seen(regPush("v1", ""))
	if first || second {
		t.Error("a push that carries nothing to tell it apart was dropped")
	}
	if d.Seen(regPush("v1", "a")) {
		t.Error("after a push of unknown content, the tag's earlier push was dropped as a duplicate")
	}
}

// A push recorded but refused (the daemon answered 503) is forgotten, so
// the sender's retry counts; forgetting does not touch a later push.
func TestDedupe_Forget(t *testing.T) {
	d, _ := newTestDedupe(time.Hour, 10)
	a, b := regPush("v1", "a"), regPush("v1", "b")
	d.Seen(a)
	d.Forget(a)
	if d.Seen(a) {
		t.Error("the retry of a forgotten push was dropped")
	}
	d.Seen(b)
	d.Forget(a) // a is not the last push of v1 any more
	if !d.Seen(b) {
		t.Error("forgetting an older push forgot the tag's last one")
	}
}

func TestDedupe_MaxSize(t *testing.T) {
	d, clock := newTestDedupe(time.Hour, 3)
	for _, tag := range []string{"a", "b", "c", "d"} {
		d.Seen(regPush(tag, "1"))
		clock.advance(time.Second)
	}
	if n := d.Len(); n != 3 {
		t.Errorf("holds %d tags, want 3", n)
	}
	if d.Seen(regPush("a", "1")) {
		t.Error("the oldest tag survived past the size limit")
	}
	if !d.Seen(regPush("d", "1")) {
		t.Error("the newest tag was forgotten")
	}
}

func TestDedupe_ExpiredTagsLeave(t *testing.T) {
	d, clock := newTestDedupe(time.Minute, 100)
	for i := range 50 {
		d.Seen(regPush(fmt.Sprint("v", i), "1"))
		d.Seen(regPush(fmt.Sprint("v", i), "2")) // the same tag again: still one entry
	}
	if n := d.Len(); n != 50 {
		t.Errorf("holds %d tags, want 50", n)
	}
	clock.advance(2 * time.Minute)
	d.Seen(regPush("fresh", "1"))
	if n := d.Len(); n != 1 {
		t.Errorf("holds %d tags after they expired, want 1", n)
	}
}

func TestDedupe_Concurrent(t *testing.T) {
	d := NewDedupe(time.Hour, 1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if !d.Seen(regPush(fmt.Sprint("v", i), "a")) {
					mu.Lock()
					firsts++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firsts != 100 {
		t.Errorf("%d first sightings, want 100 (each push once)", firsts)
	}
}

// A push delivered once per stack (each with that stack's own secret) is
// new in each scope; within one scope the repeat is a duplicate, and
// forgetting in one scope leaves the other's record.
func TestDedupe_ScopesAreApart(t *testing.T) {
	d, _ := newTestDedupe(time.Minute, 10)
	a := regPush("v1", "a")
	if d.SeenIn("stacks staging", a) || d.SeenIn("stacks prod", a) {
		t.Fatal("the first delivery in a scope was taken for a duplicate of another scope's")
	}
	if !d.SeenIn("stacks prod", a) {
		t.Error("a repeat within one scope is not a duplicate")
	}
	d.ForgetIn("stacks staging", a)
	if d.SeenIn("stacks staging", a) {
		t.Error("a forgotten push is still seen in its scope")
	}
	if !d.SeenIn("stacks prod", a) {
		t.Error("forgetting in one scope forgot the other's push")
	}
}
