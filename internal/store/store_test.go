package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 22, 4, 30, 0, 0, time.UTC)

// fakeClock advances one second per reading.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func openStore(t *testing.T, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestOpenCreatesStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "cutover")
	s := openStore(t, dir)
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("state dir mode = %v, want 0700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, "cutover.db")); err != nil {
		t.Errorf("database file: %v", err)
	}
	if s.Path() != filepath.Join(dir, "cutover.db") {
		t.Errorf("Path() = %q", s.Path())
	}
}

func TestOpenNoDir(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

// The store must not keep the database open between operations, or a second
// process would block on bbolt's file lock.
func TestStoreDoesNotHoldDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, WithTimeout(300*time.Millisecond))
	if _, err := s.CreateRelease(ctx, Release{Stack: "hello"}); err != nil {
		t.Fatal(err)
	}

	db, err := bolt.Open(s.Path(), 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("database still held by the store: %v", err)
	}
	// While someone else has it open, operations time out instead of hanging.
	start := time.Now()
	_, err = s.GetStack(ctx, "hello")
	if !errors.Is(err, berrors.ErrTimeout) {
		t.Errorf("GetStack while held elsewhere: err = %v, want timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("GetStack took %v while held elsewhere", d)
	}
	// A context deadline shorter than the store's timeout wins.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.GetStack(cctx, "hello"); err == nil {
		t.Error("GetStack with expiring context succeeded while held elsewhere")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetStack(ctx, "hello"); err != nil {
		t.Errorf("GetStack after the other holder closed: %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.ListStacks(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListStacks with canceled context: err = %v", err)
	}
}

// Two Store values on one dir stand for two cutover processes.
func TestSeparateStoresDoNotDeadlock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openStore(t, dir)
	b := openStore(t, dir)

	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i, s := range []*Store{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					r, err := s.CreateRelease(ctx, Release{Stack: "hello"})
					if err != nil {
						errs <- err
						return
					}
					if _, err := s.AppendStep(ctx, "hello", r.Number, Step{Action: "create"}); err != nil {
						errs <- err
						return
					}
					l, err := s.Acquire(ctx, Lock{Stack: "other", Release: i})
					if err == nil {
						err = s.Release(ctx, l)
					} else if errors.Is(err, ErrStackLocked) {
						err = nil
					}
					if err != nil {
						errs <- err
						return
					}
					if _, err := s.ListReleases(ctx, "hello"); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		done <- <-errs
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("operations on two stores did not finish: deadlock?")
	}
	rs, err := b.ListReleases(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 20 {
		t.Errorf("got %d releases, want 20", len(rs))
	}
}
