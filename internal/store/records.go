package store

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// Records are JSON values kept in a bucket of their own, one per key (the
// daemon's routing tables). The bucket is created by the first put, so
// stores made before it existed need no migration.

// putRecord stores v under key in bucket.
func (s *Store) putRecord(ctx context.Context, bucket []byte, key string, v any) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return putJSON(b, []byte(key), v)
	})
}

// deleteRecord removes key from bucket; a key that is not there is not an
// error.
func (s *Store) deleteRecord(ctx context.Context, bucket []byte, key string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
}

// listRecords decodes every record of bucket, in key order, keeping those
// keep accepts.
func listRecords[T any](ctx context.Context, s *Store, bucket []byte, keep func(T) bool) ([]T, error) {
	var out []T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r T
			if err := decodeJSON(k, v, &r); err != nil {
				return err
			}
			if keep(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}
