package webhook

import (
	"fmt"
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

func TestDedupe_TTL(t *testing.T) {
	d, clock := newTestDedupe(time.Minute, 10)
	if d.Seen("a") {
		t.Fatal("first sighting reported as seen")
	}
	clock.advance(30 * time.Second)
	if !d.Seen("a") {
		t.Fatal("repeat within the TTL not reported")
	}
	clock.advance(31 * time.Second) // 61 s after the first sighting: a repeat does not extend it
	if d.Seen("a") {
		t.Fatal("repeat after the TTL reported as seen")
	}
	if !d.Seen("a") {
		t.Fatal("the new sighting was not recorded")
	}
}

func TestDedupe_MaxSize(t *testing.T) {
	d, clock := newTestDedupe(time.Hour, 3)
	for _, k := range []string{"a", "b", "c", "d"} {
		d.Seen(k)
		clock.advance(time.Second)
	}
	if n := d.Len(); n != 3 {
		t.Errorf("holds %d keys, want 3", n)
	}
	if d.Seen("a") {
		t.Error("the oldest key survived past the size limit")
	}
	if !d.Seen("d") {
		t.Error("the newest key was forgotten")
	}
}

func TestDedupe_ExpiredKeysLeave(t *testing.T) {
	d, clock := newTestDedupe(time.Minute, 100)
	for i := range 50 {
		d.Seen(fmt.Sprint(i))
	}
	clock.advance(2 * time.Minute)
	d.Seen("fresh")
	if n := d.Len(); n != 1 {
		t.Errorf("holds %d keys after they expired, want 1", n)
	}
}

func TestDedupe_EmptyKeyNeverSeen(t *testing.T) {
	d, _ := newTestDedupe(time.Hour, 10)
	first, second := d.Seen(""), d.Seen("")
	if first || second {
		t.Error("an empty key (a push that carries nothing to tell it apart) was dropped")
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
				if !d.Seen(fmt.Sprint(i)) {
					mu.Lock()
					firsts++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firsts != 100 {
		t.Errorf("%d first sightings, want 100 (each key once)", firsts)
	}
}
