package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// releaseKey is a release number as stored: big-endian, so byte order is
// number order.
func releaseKey(n int) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(n))
}

// CreateRelease stores r as the stack's next release and returns it. In one
// transaction it allocates the number (the stack's LastRelease + 1, whatever
// r.Number says), stamps CreatedAt and, when r.Status is empty, sets it to
// pending. If the stack has no record yet one is created, taking WorkingDir,
// ConfigFiles and Strategy from defaults when given; an existing record is
// left as it is apart from LastRelease.
func (s *Store) CreateRelease(ctx context.Context, r Release, defaults ...Stack) (Release, error) {
	if r.Stack == "" {
		return Release{}, errors.New("create release: no stack name")
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		st, err := getStack(tx, r.Stack)
		switch {
		case err == nil:
		case errors.Is(err, ErrStackNotFound):
			st = Stack{Name: r.Stack}
			if len(defaults) > 0 {
				d := defaults[0]
				st.WorkingDir = d.WorkingDir
				st.ConfigFiles = slices.Clone(d.ConfigFiles)
				st.Strategy = d.Strategy
			}
		default:
			return err
		}
		b, err := tx.Bucket(bucketReleases).CreateBucketIfNotExists([]byte(r.Stack))
		if err != nil {
			return err
		}
		n := st.LastRelease
		// Never reuse a number, even if the counter and the releases disagree.
		if k, _ := b.Cursor().Last(); len(k) == 8 {
			n = max(n, int(binary.BigEndian.Uint64(k)))
		}
		n++
		r.Number = n
		r.CreatedAt = s.stamp()
		if r.Status == "" {
			r.Status = StatusPending
		}
		if err := putJSON(b, releaseKey(n), r); err != nil {
			return err
		}
		st.LastRelease = n
		return s.putStack(tx, &st)
	})
	if err != nil {
		return Release{}, fmt.Errorf("create release of stack %q: %w", r.Stack, err)
	}
	return r, nil
}

// GetRelease returns release n of the stack, or an error wrapping
// ErrReleaseNotFound (and ErrStackNotFound if the stack is unknown too).
func (s *Store) GetRelease(ctx context.Context, stack string, n int) (Release, error) {
	var r Release
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = getRelease(tx, stack, n)
		return err
	})
	return r, err
}

// UpdateRelease reads release n of the stack, applies fn and stores the
// result, in one transaction. If fn returns an error nothing is stored and
// that error is returned as it is. fn must not change Stack or Number.
func (s *Store) UpdateRelease(ctx context.Context, stack string, n int, fn func(*Release) error) (Release, error) {
	var r Release
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if r, err = getRelease(tx, stack, n); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		if r.Stack != stack || r.Number != n {
			return fmt.Errorf("update release %d of stack %q: stack and number cannot be changed", n, stack)
		}
		return putRelease(tx, r)
	})
	if err != nil {
		return Release{}, err
	}
	return r, nil
}

// ListReleases returns the stack's releases, lowest number first, or an error
// wrapping ErrStackNotFound if the stack is unknown.
func (s *Store) ListReleases(ctx context.Context, stack string) ([]Release, error) {
	var out []Release
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if _, err := getStack(tx, stack); err != nil {
			return err
		}
		b := releasesBucket(tx, stack)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r Release
			if err := decodeRelease(stack, k, v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LatestRelease returns the stack's highest-numbered release whose status is
// one of statuses (any status when none are given), or an error wrapping
// ErrReleaseNotFound when there is none.
func (s *Store) LatestRelease(ctx context.Context, stack string, statuses ...Status) (Release, error) {
	var found Release
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if b := releasesBucket(tx, stack); b != nil {
			c := b.Cursor()
			for k, v := c.Last(); k != nil; k, v = c.Prev() {
				var r Release
				if err := decodeRelease(stack, k, v, &r); err != nil {
					return err
				}
				if len(statuses) == 0 || slices.Contains(statuses, r.Status) {
					found = r
					return nil
				}
			}
		}
		if tx.Bucket(bucketStacks).Get([]byte(stack)) == nil {
			return fmt.Errorf("stack %q: %w (%w)", stack, ErrReleaseNotFound, ErrStackNotFound)
		}
		if len(statuses) == 0 {
			return fmt.Errorf("stack %q has no releases: %w", stack, ErrReleaseNotFound)
		}
		names := make([]string, len(statuses))
		for i, st := range statuses {
			names[i] = string(st)
		}
		return fmt.Errorf("stack %q has no release that is %s: %w", stack, strings.Join(names, " or "), ErrReleaseNotFound)
	})
	if err != nil {
		return Release{}, err
	}
	return found, nil
}

func releasesBucket(tx *bolt.Tx, stack string) *bolt.Bucket {
	return tx.Bucket(bucketReleases).Bucket([]byte(stack))
}

func getRelease(tx *bolt.Tx, stack string, n int) (Release, error) {
	var r Release
	if b := releasesBucket(tx, stack); b != nil && n > 0 {
		key := releaseKey(n)
		if v := b.Get(key); v != nil {
			err := decodeRelease(stack, key, v, &r)
			return r, err
		}
	}
	if tx.Bucket(bucketStacks).Get([]byte(stack)) == nil {
		return Release{}, fmt.Errorf("stack %q release %d: %w (%w)", stack, n, ErrReleaseNotFound, ErrStackNotFound)
	}
	return Release{}, fmt.Errorf("stack %q release %d: %w", stack, n, ErrReleaseNotFound)
}

func putRelease(tx *bolt.Tx, r Release) error {
	b := releasesBucket(tx, r.Stack)
	if b == nil {
		return fmt.Errorf("stack %q release %d: %w", r.Stack, r.Number, ErrReleaseNotFound)
	}
	if err := putJSON(b, releaseKey(r.Number), r); err != nil {
		return fmt.Errorf("stack %q release %d: %w", r.Stack, r.Number, err)
	}
	return nil
}

func decodeRelease(stack string, key, data []byte, r *Release) error {
	if len(key) != 8 {
		return fmt.Errorf("stack %q: bad release key %x", stack, key)
	}
	if err := json.Unmarshal(data, r); err != nil {
		return fmt.Errorf("stack %q release %d: decode: %w", stack, binary.BigEndian.Uint64(key), err)
	}
	return nil
}
