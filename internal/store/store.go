// Package store keeps cutover's state — stacks, releases with their step
// journal, and deploy locks — in a bbolt database in the state dir.
//
// bbolt takes an exclusive file lock while a database is open, and several
// cutover processes (a daemon, CLI commands, two deploys racing) share one
// state dir. So a Store never keeps the database open: each operation opens
// the file, runs one transaction and closes it again. The file lock is what
// makes each operation atomic across processes.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file's name inside the state dir.
const FileName = "cutover.db"

// DefaultTimeout is how long an operation waits for another process to
// close the database before it gives up.
const DefaultTimeout = 10 * time.Second

// schemaVersion is written to the meta bucket; bump it when the layout changes.
const schemaVersion = "1"

// Top-level buckets. Releases hold one nested bucket per stack, keyed by the
// release number as a big-endian uint64, so cursor order is number order.
var (
	bucketMeta     = []byte("meta")
	bucketStacks   = []byte("stacks")
	bucketReleases = []byte("releases")
	bucketLocks    = []byte("locks")
)

// Store is cutover's state in one state dir. It is safe for concurrent use,
// and any number of Store values, in any number of processes, may share a dir.
type Store struct {
	dir     string
	path    string
	now     func() time.Time
	timeout time.Duration
	host    string
	// sem serializes this Store's own operations, so its goroutines queue
	// here instead of polling for the file lock.
	sem chan struct{}
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for CreatedAt, StartedAt and the like.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithTimeout sets how long an operation waits for the database file while
// another process has it open (DefaultTimeout otherwise).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) { s.timeout = d }
}

// Open prepares the store in dir, creating dir (mode 0700) and the database
// if missing. It does not keep the database open.
func Open(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open store: no state dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// Without a host name no lock can be judged stale, which is safe.
	host, _ := os.Hostname()
	s := &Store{
		dir:     dir,
		path:    filepath.Join(dir, FileName),
		now:     time.Now,
		timeout: DefaultTimeout,
		host:    host,
		sem:     make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(s)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	err := s.update(context.Background(), func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketStacks, bucketReleases, bucketLocks} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("schema")); {
		case v == nil:
			return meta.Put([]byte("schema"), []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("%s has schema version %s, this cutover knows %s", s.path, v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// Dir returns the state dir.
func (s *Store) Dir() string { return s.dir }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close does nothing, since the database is only open during an operation;
// it exists so callers can treat the Store like any other resource.
func (s *Store) Close() error { return nil }

// stamp is the current time as stored: UTC, without monotonic reading, so a
// value read back from the database equals the one returned when it was set.
func (s *Store) stamp() time.Time { return s.now().UTC().Round(0) }

// update runs fn in a read-write transaction.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	return s.run(ctx, false, func(db *bolt.DB) error { return db.Update(fn) })
}

// view runs fn in a read-only transaction; other processes may read at the
// same time.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	return s.run(ctx, true, func(db *bolt.DB) error { return db.View(fn) })
}

func (s *Store) run(ctx context.Context, readOnly bool, fn func(*bolt.DB) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()

	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return context.DeadlineExceeded
		}
		timeout = min(timeout, left)
	}
	// A zero bbolt timeout would wait forever.
	timeout = max(timeout, time.Millisecond)
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("open %s: %w: another process kept it open for %s", s.path, err, timeout)
		}
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	err = fn(db)
	if cerr := db.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", s.path, cerr)
	}
	return err
}

// getJSON decodes the value at key into v, reporting whether it was there.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, decodeJSON(key, data, v)
}

func decodeJSON(key, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %q: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return b.Put(key, data)
}
