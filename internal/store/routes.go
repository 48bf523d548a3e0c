package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// bucketRoutes holds the daemon's routing table, one record per route name.
// It is created by the first PutRoute, so stores made before it existed
// need no migration.
var bucketRoutes = []byte("routes")

// Route is one route of the daemon's built-in proxy as last applied: its
// settings (an lb.Route as JSON; the store does not interpret it), the
// target addresses that were active and, during a canary, how traffic was
// split between them. The daemon writes it after every change and applies
// it again when it starts.
type Route struct {
	// Name is the route's name, "<stack>/<service>".
	Name string `json:"name"`
	// Config is the route's settings as the router takes them (JSON).
	Config json.RawMessage `json:"config"`
	// Targets are the active target addresses (IP:port); with a Split, its
	// stable targets then its canary ones.
	Targets []string `json:"targets"`
	// Split is the route's canary split; nil when every target is stable.
	// Records written before splits were saved have none and restore as
	// plain targets.
	Split     *RouteSplit `json:"split,omitempty"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// RouteSplit is a canary split as the router applied it (an lb.Split):
// Weight percent of new requests go to Canary, the rest to Stable.
type RouteSplit struct {
	Stable []string `json:"stable"`
	Canary []string `json:"canary"`
	// Weight is the canary's share of new requests, 0–100.
	Weight int `json:"weight"`
}

// PutRoute stores r, replacing the route of the same name, and stamps
// UpdatedAt.
func (s *Store) PutRoute(ctx context.Context, r Route) error {
	if r.Name == "" {
		return errors.New("put route: no name")
	}
	r.UpdatedAt = s.stamp()
	if r.Targets == nil {
		r.Targets = []string{}
	}
	if err := s.putRecord(ctx, bucketRoutes, r.Name, r); err != nil {
		return fmt.Errorf("put route %q: %w", r.Name, err)
	}
	return nil
}

// DeleteRoute removes the named route; removing a route that is not
// stored is not an error.
func (s *Store) DeleteRoute(ctx context.Context, name string) error {
	if err := s.deleteRecord(ctx, bucketRoutes, name); err != nil {
		return fmt.Errorf("delete route %q: %w", name, err)
	}
	return nil
}

// ListRoutes returns every stored route, sorted by name.
func (s *Store) ListRoutes(ctx context.Context) ([]Route, error) {
	out, err := listRecords(ctx, s, bucketRoutes, func(Route) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	return out, nil
}
