package dns

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover/cutover/lb"
)

// EnsureRoute creates or updates a route. Its Host must be inside the
// zone; Listen is not used (the server has one address). A new route
// answers nothing (NODATA) until its first SetTargets; an updated one
// keeps its targets and split.
func (s *Server) EnsureRoute(ctx context.Context, r lb.Route) error {
	r, err := routeHost(r, s.cfg.Zone)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	split := lb.Split{}
	if old := t.routes[r.Name]; old != nil {
		split = old.split
	}
	e, err := newEntry(r, split)
	if err != nil {
		return err
	}
	routes, err := t.with(e)
	if err != nil {
		return err
	}
	s.publish(routes)
	s.log.Debug("route ensured", "route", r.Name, "host", r.Host)
	return nil
}

// RemoveRoute removes the route: its host is NXDOMAIN from the next query
// on (clients may still hold the last answer for up to DrainDelay).
func (s *Server) RemoveRoute(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	if t.routes[name] == nil {
		return fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	s.publish(t.without(name))
	s.log.Info("route removed", "route", name)
	return nil
}

// CheckTargets probes addrs directly (HTTP GET of the route's health path,
// else a TCP connect) until each passes, or fails when ctx ends, naming
// the target and its last error. Nothing is answered for them meanwhile.
func (s *Server) CheckTargets(ctx context.Context, name string, addrs []string) error {
	e, err := s.entry(name)
	if err != nil {
		return err
	}
	addrs, _, err = parseTargets(name, addrs)
	if err != nil {
		return err
	}
	return checkTargets(ctx, e.route, addrs)
}

// SetTargets makes addrs the route's only targets (ending any split). The
// next query gets their addresses; SetTargets returns at once, as DNS has
// nothing to drain: keep the targets that left serving for DrainDelay,
// because clients cache the previous answer. An empty addrs leaves the
// host without addresses (NODATA).
func (s *Server) SetTargets(ctx context.Context, name string, addrs []string) error {
	return s.setSplit(ctx, name, lb.Split{Stable: addrs})
}

// SetSplit answers the route's host with the canary's addresses in
// split.Weight percent of answers and with the stable ones in the others;
// each answer holds one color only, so a client that follows it reaches
// one whole color. Weight 0 is SetTargets(Stable), 100 SetTargets(Canary).
// Resolvers cache an answer for its TTL, so the split the clients of one
// resolver see moves in steps of TTL.
func (s *Server) SetSplit(ctx context.Context, name string, split lb.Split) error {
	if err := checkSplit(name, split); err != nil {
		return err
	}
	return s.setSplit(ctx, name, split)
}

func (s *Server) setSplit(ctx context.Context, name string, split lb.Split) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	old := t.routes[name]
	if old == nil {
		return fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	e, err := newEntry(old.route, split)
	if err != nil {
		return err
	}
	routes, err := t.with(e)
	if err != nil {
		return err
	}
	s.publish(routes)
	if e.weighted() {
		s.log.Info("targets split", "route", name, "host", e.route.Host,
			"stable", e.split.Stable, "canary", e.split.Canary, "weight", e.split.Weight)
	} else {
		s.log.Info("targets switched", "route", name, "host", e.route.Host,
			"targets", e.targets(), "answers", e.served().String(), "previous", old.targets())
	}
	return nil
}

// Targets returns the targets that get answers: with a split, the stable
// ones, then the canary ones.
func (s *Server) Targets(ctx context.Context, name string) ([]string, error) {
	e, err := s.entry(name)
	if err != nil {
		return nil, err
	}
	return e.targets(), nil
}

// Status lists every route with its targets, sorted by route name. The
// server does not probe active targets: they are listed healthy.
func (s *Server) Status() []lb.RouteStatus {
	t := s.table.Load()
	out := make([]lb.RouteStatus, 0, len(t.routes))
	for _, e := range t.routes {
		out = append(out, e.status())
	}
	sortStatus(out)
	return out
}

// DrainDelay is how long the targets that left a route must keep serving
// after SetTargets before they may be stopped: max(60 s, 3 × TTL), because
// resolvers and clients cache answers (browsers about a minute, whatever
// the TTL).
func (s *Server) DrainDelay() time.Duration { return drainDelay(s.cfg.TTL) }

// Snapshot returns the routing table, sorted by route name.
func (s *Server) Snapshot() []RouteState {
	return snapshot(s.table.Load().routes)
}

// Restore replaces the whole routing table with states (a Snapshot),
// atomically: when any route is invalid nothing changes.
func (s *Server) Restore(states []RouteState) error {
	routes, err := entries(states, s.cfg.Zone)
	if err != nil {
		return fmt.Errorf("restoring dns routes: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publish(routes)
	s.log.Info("routes restored", "routes", len(routes))
	return nil
}

func (s *Server) entry(name string) (*routeEntry, error) {
	e := s.table.Load().routes[name]
	if e == nil {
		return nil, fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	return e, nil
}
