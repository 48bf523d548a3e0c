package store

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

func stackNotFound(name string) error {
	return fmt.Errorf("stack %q: %w", name, ErrStackNotFound)
}

// GetStack returns the named stack, or an error wrapping ErrStackNotFound.
func (s *Store) GetStack(ctx context.Context, name string) (Stack, error) {
	var st Stack
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		st, err = getStack(tx, name)
		return err
	})
	return st, err
}

// PutStack stores st, replacing the record of the same name. It never lowers
// LastRelease (release numbers are allocated by CreateRelease and must not be
// reused) and keeps the existing CreatedAt; it sets UpdatedAt.
func (s *Store) PutStack(ctx context.Context, st Stack) error {
	if st.Name == "" {
		return errors.New("put stack: no name")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getStack(tx, st.Name)
		switch {
		case err == nil:
			st.LastRelease = max(st.LastRelease, old.LastRelease)
			if !old.CreatedAt.IsZero() {
				st.CreatedAt = old.CreatedAt
			}
		case errors.Is(err, ErrStackNotFound):
		default:
			return err
		}
		return s.putStack(tx, &st)
	})
}

// UpdateStack applies fn to the named stack and stores the result, in one
// transaction. If fn returns an error nothing is stored and that error is
// returned. fn must not rename the stack or lower LastRelease.
func (s *Store) UpdateStack(ctx context.Context, name string, fn func(*Stack) error) (Stack, error) {
	var st Stack
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getStack(tx, name)
		if err != nil {
			return err
		}
		st = old
		st.ConfigFiles = append([]string(nil), old.ConfigFiles...)
		if err := fn(&st); err != nil {
			return err
		}
		if st.Name != old.Name || st.LastRelease < old.LastRelease {
			return fmt.Errorf("update stack %q: name and release counter cannot be changed", name)
		}
		return s.putStack(tx, &st)
	})
	if err != nil {
		return Stack{}, err
	}
	return st, nil
}

// ListStacks returns every stack, sorted by name.
func (s *Store) ListStacks(ctx context.Context) ([]Stack, error) {
	var out []Stack
	err := s.view(ctx, func(tx *bolt.Tx) error {
		// bbolt iterates keys in byte order, which is Go's string order.
		return tx.Bucket(bucketStacks).ForEach(func(k, v []byte) error {
			var st Stack
			if err := decodeJSON(k, v, &st); err != nil {
				return err
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	return out, nil
}

func getStack(tx *bolt.Tx, name string) (Stack, error) {
	var st Stack
	ok, err := getJSON(tx.Bucket(bucketStacks), []byte(name), &st)
	if err != nil {
		return Stack{}, fmt.Errorf("stack %q: %w", name, err)
	}
	if !ok {
		return Stack{}, stackNotFound(name)
	}
	return st, nil
}

// putStack stores st with UpdatedAt (and CreatedAt, if unset) stamped now.
func (s *Store) putStack(tx *bolt.Tx, st *Stack) error {
	now := s.stamp()
	if st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	st.UpdatedAt = now
	if err := putJSON(tx.Bucket(bucketStacks), []byte(st.Name), st); err != nil {
		return fmt.Errorf("stack %q: %w", st.Name, err)
	}
	return nil
}
