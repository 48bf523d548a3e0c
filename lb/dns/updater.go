package dns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cutover/cutover/lb"
)

// Updater is the dns router's RFC 2136 backend: it keeps each route's
// host in an external authoritative server (BIND, Knot, PowerDNS …) by
// dynamic updates signed with TSIG, and returns from a switch once that
// server answers with the new addresses. It is safe for concurrent use;
// updates are sent one at a time.
//
// The server's policy must let the key change the A and AAAA records of
// the hosts, e.g. in BIND: update-policy { grant KEY zonesub A AAAA; };
type Updater struct {
	cfg UpdaterConfig
	log *slog.Logger

	updates sync.Mutex // one update in flight at a time

	mu     sync.Mutex
	routes map[string]*routeEntry
}

// NewUpdater returns an updater with no routes. A nil logger discards.
func NewUpdater(cfg UpdaterConfig, logger *slog.Logger) (*Updater, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("dns updater: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Updater{
		cfg:    cfg,
		log:    logger.With("zone", cfg.Zone, "server", cfg.Server),
		routes: map[string]*routeEntry{},
	}, nil
}

// Zone returns the zone updated, canonical.
func (u *Updater) Zone() string { return u.cfg.Zone }

// TTL returns the TTL of the records written.
func (u *Updater) TTL() time.Duration { return u.cfg.TTL }

// EnsureRoute creates or updates a route (its Host inside the zone),
// after checking that the server is authoritative for the zone and
// accepts the key, so that a wrong server or key fails a release before
// anything is started. It writes no record: the host keeps what it has
// until the first SetTargets.
func (u *Updater) EnsureRoute(ctx context.Context, r lb.Route) error {
	r, err := routeHost(r, u.cfg.Zone)
	if err != nil {
		return err
	}
	u.mu.Lock()
	e := &routeEntry{route: r}
	if old := u.routes[r.Name]; old != nil {
		e = &routeEntry{route: r, split: old.split, stable: old.stable, canary: old.canary}
	}
	for name, other := range u.routes {
		if name != r.Name && other.route.Host == r.Host {
			u.mu.Unlock()
			return fmt.Errorf("route %s: host %s: %w (route %s)", r.Name, r.Host, lb.ErrHostTaken, name)
		}
	}
	u.mu.Unlock()

	if err := u.checkServer(ctx, r.Host); err != nil {
		return fmt.Errorf("route %s: %w", r.Name, err)
	}
	u.mu.Lock()
	u.routes[r.Name] = e
	u.mu.Unlock()
	u.log.Debug("route ensured", "route", r.Name, "host", r.Host)
	return nil
}

// RemoveRoute deletes the host's A and AAAA records from the server and
// forgets the route.
func (u *Updater) RemoveRoute(ctx context.Context, name string) error {
	e, err := u.entry(name)
	if err != nil {
		return err
	}
	u.updates.Lock()
	defer u.updates.Unlock()
	if err := u.replace(ctx, e.route.Host, addrSet{}); err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	u.mu.Lock()
	delete(u.routes, name)
	u.mu.Unlock()
	u.log.Info("route removed", "route", name, "host", e.route.Host)
	return nil
}

// CheckTargets probes addrs directly (HTTP GET of the route's health path,
// else a TCP connect) until each passes, or fails when ctx ends, naming
// the target and its last error.
func (u *Updater) CheckTargets(ctx context.Context, name string, addrs []string) error {
	e, err := u.entry(name)
	if err != nil {
		return err
	}
	addrs, _, err = parseTargets(name, addrs)
	if err != nil {
		return err
	}
	return checkTargets(ctx, e.route, addrs)
}

// SetTargets replaces the host's A and AAAA records with the addresses of
// addrs in one signed update (atomic on the server: a refused update
// changes nothing), then queries the server until it answers with exactly
// those addresses. A refused update fails with ErrUpdateRefused, saying
// why; the route keeps its previous targets. Keep the targets that left
// serving for DrainDelay, because clients cache the previous answer.
func (u *Updater) SetTargets(ctx context.Context, name string, addrs []string) error {
	e, err := u.entry(name)
	if err != nil {
		return err
	}
	next, err := newEntry(e.route, lb.Split{Stable: addrs})
	if err != nil {
		return err
	}
	u.updates.Lock()
	defer u.updates.Unlock()
	if err := u.replace(ctx, e.route.Host, next.stable); err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	u.mu.Lock()
	if _, still := u.routes[name]; still {
		u.routes[name] = next
	}
	u.mu.Unlock()
	u.log.Info("targets switched", "route", name, "host", e.route.Host,
		"targets", next.targets(), "answers", next.stable.String(), "previous", e.targets())
	return nil
}

// SetSplit applies a split whose weight is 0 or 100 as SetTargets of the
// stable or canary targets. An authoritative server answers a whole record
// set, so weights in between fail with ErrSplitUnsupported: canary steps
// need the built-in server (or the proxy router).
func (u *Updater) SetSplit(ctx context.Context, name string, split lb.Split) error {
	if err := checkSplit(name, split); err != nil {
		return err
	}
	switch split.Weight {
	case 0:
		return u.SetTargets(ctx, name, split.Stable)
	case 100:
		return u.SetTargets(ctx, name, split.Canary)
	}
	return fmt.Errorf("route %s: canary weight %d%%: %w by RFC 2136 updates (the server answers the whole record set); use the built-in dns server or the proxy router for canary steps",
		name, split.Weight, ErrSplitUnsupported)
}

// Targets returns the route's targets as last set through this updater
// (or restored).
func (u *Updater) Targets(ctx context.Context, name string) ([]string, error) {
	e, err := u.entry(name)
	if err != nil {
		return nil, err
	}
	return e.targets(), nil
}

// Status lists every route with its targets as last set, sorted by route
// name. Targets are not probed: they are listed healthy.
func (u *Updater) Status() []lb.RouteStatus {
	u.mu.Lock()
	out := make([]lb.RouteStatus, 0, len(u.routes))
	for _, e := range u.routes {
		out = append(out, e.status())
	}
	u.mu.Unlock()
	sortStatus(out)
	return out
}

// DrainDelay is how long the targets that left a route must keep serving
// after SetTargets before they may be stopped: max(60 s, 3 × TTL).
func (u *Updater) DrainDelay() time.Duration { return drainDelay(u.cfg.TTL) }

// Snapshot returns the routes and their targets as last set, sorted by
// route name.
func (u *Updater) Snapshot() []RouteState {
	u.mu.Lock()
	defer u.mu.Unlock()
	return snapshot(u.routes)
}

// Restore replaces the updater's routes with states (a Snapshot) without
// sending anything: the server keeps its records. When any route is
// invalid nothing changes.
func (u *Updater) Restore(states []RouteState) error {
	routes, err := entries(states, u.cfg.Zone)
	if err != nil {
		return fmt.Errorf("restoring dns routes: %w", err)
	}
	u.mu.Lock()
	u.routes = routes
	u.mu.Unlock()
	return nil
}

func (u *Updater) entry(name string) (*routeEntry, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e := u.routes[name]
	if e == nil {
		return nil, fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	return e, nil
}
