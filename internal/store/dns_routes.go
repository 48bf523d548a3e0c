package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// bucketDNSRoutes holds the routes of the dns router's backends, one
// record per route name. It is created by the first PutDNSRoute, so stores
// made before it existed need no migration.
var bucketDNSRoutes = []byte("dns-routes")

// DNSRoute is one route of a dns router backend as last set: which backend
// holds it and its state (a dns.RouteState as JSON; the store does not
// interpret it). The built-in server of `cutover serve` restores its
// records when it starts; an RFC 2136 updater, which keeps nothing on the
// server it could read back, restores its own in every process that
// builds one, so targets and splits survive from one cutover run to the
// next.
type DNSRoute struct {
	// Name is the route's name, "<stack>/<service>".
	Name string `json:"name"`
	// Backend says which backend holds the route: "builtin", or
	// "rfc2136 <server> <zone>".
	Backend   string          `json:"backend"`
	State     json.RawMessage `json:"state"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// PutDNSRoute stores r, replacing the route of the same name, and stamps
// UpdatedAt.
func (s *Store) PutDNSRoute(ctx context.Context, r DNSRoute) error {
	if r.Name == "" {
		return errors.New("put dns route: no name")
	}
	r.UpdatedAt = s.stamp()
	if err := s.putRecord(ctx, bucketDNSRoutes, r.Name, r); err != nil {
		return fmt.Errorf("put dns route %q: %w", r.Name, err)
	}
	return nil
}

// DeleteDNSRoute removes the named route; removing a route that is not
// stored is not an error.
func (s *Store) DeleteDNSRoute(ctx context.Context, name string) error {
	if err := s.deleteRecord(ctx, bucketDNSRoutes, name); err != nil {
		return fmt.Errorf("delete dns route %q: %w", name, err)
	}
	return nil
}

// ListDNSRoutes returns the stored routes of backend, sorted by name.
func (s *Store) ListDNSRoutes(ctx context.Context, backend string) ([]DNSRoute, error) {
	out, err := listRecords(ctx, s, bucketDNSRoutes, func(r DNSRoute) bool { return r.Backend == backend })
	if err != nil {
		return nil, fmt.Errorf("list dns routes: %w", err)
	}
	return out, nil
}
