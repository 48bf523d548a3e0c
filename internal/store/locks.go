package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotLocked means a stack has no lock to release or clear.
var ErrNotLocked = errors.New("stack is not locked")

// lockPoll is how often AcquireWait tries again.
const lockPoll = 150 * time.Millisecond

// LockedError is returned when another deploy holds a stack's lock. It
// unwraps to ErrStackLocked.
type LockedError struct {
	// Lock is the lock as its holder stored it.
	Lock Lock
	// Stale is set when the holder ran on this host and its process no
	// longer exists: the lock will never be released, only cleared (Unlock).
	Stale bool
}

func (e *LockedError) Error() string {
	l := e.Lock
	msg := fmt.Sprintf("stack %q is being deployed", l.Stack)
	if l.Release > 0 {
		msg += fmt.Sprintf(" by release %d", l.Release)
	}
	msg += fmt.Sprintf(" (pid %d on host %s, started %s)", l.PID, l.Host, l.StartedAt.UTC().Format(time.RFC3339))
	if e.Stale {
		msg += "; that process no longer exists, so the lock is stale"
	}
	return msg
}

func (e *LockedError) Unwrap() error { return ErrStackLocked }

// Acquire takes the lock of l.Stack for the caller and returns the lock as
// stored: Token is generated if empty, PID and Host default to this process,
// StartedAt is now. If another holder has the lock, Acquire returns a
// *LockedError, with Stale set when that holder is known to be dead; a stale
// lock is never taken over silently (see Unlock). Acquiring again with the
// token of the lock already held updates it (e.g. to record the release
// number) and keeps its StartedAt.
func (s *Store) Acquire(ctx context.Context, l Lock) (Lock, error) {
	if l.Stack == "" {
		return Lock{}, errors.New("acquire lock: no stack name")
	}
	if l.Token == "" {
		l.Token = rand.Text()
	}
	if l.PID == 0 {
		l.PID = os.Getpid()
	}
	if l.Host == "" {
		l.Host = s.host
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		var held Lock
		ok, err := getJSON(b, []byte(l.Stack), &held)
		if err != nil {
			return err
		}
		if ok && held.Token != l.Token {
			return &LockedError{Lock: held, Stale: s.IsStale(held)}
		}
		if ok {
			l.StartedAt = held.StartedAt
		} else {
			l.StartedAt = s.stamp()
		}
		return putJSON(b, []byte(l.Stack), l)
	})
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return Lock{}, err
		}
		return Lock{}, fmt.Errorf("acquire lock of stack %q: %w", l.Stack, err)
	}
	return l, nil
}

// AcquireWait is Acquire, trying again every lockPoll until it succeeds, wait
// has passed (it then returns the *LockedError) or ctx is done. A stale lock
// fails at once, since waiting cannot make it go away. Waiting uses the real
// clock, not the Store's.
func (s *Store) AcquireWait(ctx context.Context, l Lock, wait time.Duration) (Lock, error) {
	if l.Token == "" {
		l.Token = rand.Text()
	}
	deadline := time.Now().Add(wait)
	var locked error // the last *LockedError seen
	gaveUp := func(cause error) (Lock, error) {
		return Lock{}, fmt.Errorf("gave up waiting for the lock: %w: %w", cause, locked)
	}
	for {
		got, err := s.Acquire(ctx, l)
		var le *LockedError
		if !errors.As(err, &le) {
			// The store may see the deadline pass before ctx's own timer
			// has marked ctx done.
			ended := ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)
			if err != nil && ended {
				if locked == nil {
					// ctx ended before the lock was ever read (a slow
					// disk): read it once more, so the error can still
					// say who holds it.
					locked = s.holder(ctx, l.Stack)
				}
				if locked != nil {
					return gaveUp(err)
				}
			}
			return got, err
		}
		locked = err
		left := time.Until(deadline)
		if le.Stale || left <= 0 {
			return Lock{}, err
		}
		t := time.NewTimer(min(lockPoll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return gaveUp(ctx.Err())
		case <-t.C:
		}
	}
}

// holder returns a *LockedError naming who holds stack's lock, read with
// a short context of its own, or nil when nobody does or it cannot tell.
func (s *Store) holder(ctx context.Context, stack string) error {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	held, ok, err := s.GetLock(hctx, stack)
	if err != nil || !ok {
		return nil
	}
	return &LockedError{Lock: held}
}

// Release gives up l, which must be the lock as Acquire returned it: only
// the holder's token removes it. If another holder has the lock now, the
// error wraps a *LockedError; if nobody has, it wraps ErrNotLocked.
func (s *Store) Release(ctx context.Context, l Lock) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		var held Lock
		ok, err := getJSON(b, []byte(l.Stack), &held)
		switch {
		case err != nil:
			return err
		case !ok:
			return ErrNotLocked
		case held.Token != l.Token:
			return &LockedError{Lock: held, Stale: s.IsStale(held)}
		}
		return b.Delete([]byte(l.Stack))
	})
	if err != nil {
		return fmt.Errorf("release lock of stack %q: %w", l.Stack, err)
	}
	return nil
}

// Unlock removes the stack's lock whoever holds it, and returns it. It is for
// clearing a stale lock by hand; the error wraps ErrNotLocked if there is no
// lock.
func (s *Store) Unlock(ctx context.Context, stack string) (Lock, error) {
	var held Lock
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		ok, err := getJSON(b, []byte(stack), &held)
		switch {
		case err != nil:
			return err
		case !ok:
			return ErrNotLocked
		}
		return b.Delete([]byte(stack))
	})
	if err != nil {
		return Lock{}, fmt.Errorf("unlock stack %q: %w", stack, err)
	}
	return held, nil
}

// GetLock returns the stack's lock and whether there is one.
func (s *Store) GetLock(ctx context.Context, stack string) (Lock, bool, error) {
	var held Lock
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		ok, err = getJSON(tx.Bucket(bucketLocks), []byte(stack), &held)
		return err
	})
	if err != nil {
		return Lock{}, false, fmt.Errorf("get lock of stack %q: %w", stack, err)
	}
	return held, ok, nil
}

// IsStale reports whether l's holder is known to be dead: it took the lock
// on this host, and its process no longer exists. A lock from another host
// is never stale, since its process cannot be checked from here.
func (s *Store) IsStale(l Lock) bool {
	return s.host != "" && l.Host == s.host && l.PID > 0 && processGone(l.PID)
}
