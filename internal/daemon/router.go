package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

// Proxy is what the daemon needs of its proxy router: *lb.Proxy.
type Proxy interface {
	deploy.Router // includes Status
	Close(ctx context.Context) error
}

var _ Proxy = (*lb.Proxy)(nil)

// persistingRouter is the Router deploys use in the daemon: the proxy,
// with the routing table (each route, its active targets and its canary
// split) written to the store after every change, so a restarted daemon
// routes as before.
type persistingRouter struct {
	proxy Proxy
	store *store.Store
	log   *slog.Logger

	mu     sync.Mutex
	routes map[string]lb.Route // as last ensured, by name
}

var _ deploy.Router = (*persistingRouter)(nil)

// splitSetter is a proxy that splits a route's traffic by weight.
type splitSetter interface {
	SetSplit(ctx context.Context, route string, s lb.Split) error
}

// splitReader is a proxy that tells a route's current split. Targets alone
// lists the stable and canary targets as one set: saved from it, a route
// would come back after a restart with the canary's weight lost.
type splitReader interface {
	Split(route string) (lb.Split, bool, error)
}

var (
	_ splitSetter = (*lb.Proxy)(nil)
	_ splitReader = (*lb.Proxy)(nil)
)

func newPersistingRouter(p Proxy, s *store.Store, log *slog.Logger) *persistingRouter {
	return &persistingRouter{proxy: p, store: s, log: log, routes: map[string]lb.Route{}}
}

// EnsureRoute creates or updates the route, then saves it. Updating a
// route keeps its targets and split in the proxy, and so in the store.
func (r *persistingRouter) EnsureRoute(ctx context.Context, rt lb.Route) error {
	err := r.proxy.EnsureRoute(ctx, rt)
	if err == nil {
		r.mu.Lock()
		r.routes[rt.Name] = rt
		r.mu.Unlock()
	}
	return errors.Join(err, r.save(ctx, rt.Name))
}

// RemoveRoute removes the route, then forgets it.
func (r *persistingRouter) RemoveRoute(ctx context.Context, name string) error {
	err := r.proxy.RemoveRoute(ctx, name)
	return errors.Join(err, r.save(ctx, name))
}

// SetTargets saves the new targets first (the switch is immediate; the
// call then waits for the old targets to drain, and a daemon that dies
// meanwhile must come back with the new ones), switches, then saves what
// the proxy really has.
func (r *persistingRouter) SetTargets(ctx context.Context, name string, addrs []string) error {
	r.mu.Lock()
	rt, known := r.routes[name]
	r.mu.Unlock()
	if known {
		// SetTargets ends a split (all targets stable): none is saved.
		if err := r.put(ctx, rt, addrs, nil); err != nil {
			return err
		}
	}
	err := r.proxy.SetTargets(ctx, name, addrs)
	return errors.Join(err, r.save(ctx, name))
}

// SetSplit saves the split first and then applies it (a canary step), for
// the reason SetTargets does: the switch is immediate and the call then
// waits for the targets that left to drain. It then saves what the proxy
// really has.
func (r *persistingRouter) SetSplit(ctx context.Context, name string, s lb.Split) error {
	sp, ok := r.proxy.(splitSetter)
	if !ok {
		return fmt.Errorf("route %s: the proxy cannot split traffic by weight", name)
	}
	r.mu.Lock()
	rt, known := r.routes[name]
	r.mu.Unlock()
	// A split the proxy will refuse is not saved, and one with no canary
	// is plain targets, as the proxy applies it.
	if known && s.Validate() == nil {
		var saved *lb.Split
		if len(s.Canary) > 0 {
			saved = &s
		}
		if err := r.put(ctx, rt, slices.Concat(s.Stable, s.Canary), saved); err != nil {
			return err
		}
	}
	err := sp.SetSplit(ctx, name, s)
	return errors.Join(err, r.save(ctx, name))
}

// CheckTargets probes addrs without routing to them; nothing to save.
func (r *persistingRouter) CheckTargets(ctx context.Context, name string, addrs []string) error {
	return r.proxy.CheckTargets(ctx, name, addrs)
}

// Targets returns the route's active targets.
func (r *persistingRouter) Targets(ctx context.Context, name string) ([]string, error) {
	return r.proxy.Targets(ctx, name)
}

// Status lists the proxy's routes with their targets.
func (r *persistingRouter) Status() []lb.RouteStatus { return r.proxy.Status() }

// restored records a route applied from the store at start.
func (r *persistingRouter) restored(rt lb.Route) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes[rt.Name] = rt
}

// save writes the route as the proxy now has it (targets, and the split
// when it has a canary set), or deletes it when the proxy has no such
// route. It runs even when the operation's ctx was cancelled (an undo must
// be saved too).
func (r *persistingRouter) save(ctx context.Context, name string) error {
	ctx = context.WithoutCancel(ctx)
	targets, split, err := r.current(ctx, name)
	if errors.Is(err, lb.ErrNoRoute) {
		r.mu.Lock()
		delete(r.routes, name)
		r.mu.Unlock()
		if err := r.store.DeleteRoute(ctx, name); err != nil {
			return fmt.Errorf("route %s: saving the routing table: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("route %s: reading targets to save: %w", name, err)
	}
	r.mu.Lock()
	rt, known := r.routes[name]
	r.mu.Unlock()
	if !known {
		// Not created through this router (cannot happen in the daemon):
		// nothing to describe it with.
		r.log.Warn("route not saved: unknown settings", "route", name)
		return nil
	}
	return r.put(ctx, rt, targets, split)
}

// current returns the route's active targets and, when it has a canary
// set, its split (nil otherwise), both from one read when the proxy can
// tell its split. A proxy that cannot has no split to save.
func (r *persistingRouter) current(ctx context.Context, name string) ([]string, *lb.Split, error) {
	sr, ok := r.proxy.(splitReader)
	if !ok {
		targets, err := r.proxy.Targets(ctx, name)
		return targets, nil, err
	}
	s, split, err := sr.Split(name)
	if err != nil {
		return nil, nil, err
	}
	targets := slices.Concat(s.Stable, s.Canary) // as Targets lists them
	if !split {
		return targets, nil, nil
	}
	return targets, &s, nil
}

// put writes rt with targets and split (nil: every target stable).
func (r *persistingRouter) put(ctx context.Context, rt lb.Route, targets []string, split *lb.Split) error {
	config, err := json.Marshal(rt)
	if err != nil {
		return fmt.Errorf("route %s: encoding: %w", rt.Name, err)
	}
	rec := store.Route{Name: rt.Name, Config: config, Targets: slices.Clone(targets)}
	if split != nil {
		rec.Split = &store.RouteSplit{Stable: slices.Clone(split.Stable), Canary: slices.Clone(split.Canary), Weight: split.Weight}
	}
	if err := r.store.PutRoute(context.WithoutCancel(ctx), rec); err != nil {
		return fmt.Errorf("route %s: saving the routing table: %w", rt.Name, err)
	}
	return nil
}

// restoreRoutes applies the saved routing table to the proxy: each route
// with the targets it had, split by weight as they were when the daemon
// stopped mid-canary. Containers keep their addresses while they run; a
// target that is gone fails the proxy's health probes and gets no traffic.
// A route that cannot be applied (its port taken) is logged and kept in
// the store.
func restoreRoutes(ctx context.Context, s *store.Store, p Proxy, r *persistingRouter, log *slog.Logger) error {
	saved, err := s.ListRoutes(ctx)
	if err != nil {
		return fmt.Errorf("reading the routing table: %w", err)
	}
	for _, rec := range saved {
		var rt lb.Route
		if err := json.Unmarshal(rec.Config, &rt); err != nil {
			log.Error("route not restored: bad record", "route", rec.Name, "error", err)
			continue
		}
		if rt.Router != "" {
			log.Warn("route not restored on the proxy: it belongs to another router", "route", rt.Name, "router", rt.Router)
			continue
		}
		if err := p.EnsureRoute(ctx, rt); err != nil {
			log.Error("route not restored", "route", rt.Name, "listen", rt.Listen, "error", err)
			continue
		}
		r.restored(rt)
		if rec.Split != nil {
			err := restoreSplit(ctx, p, rt.Name, rec.Split)
			if err == nil {
				log.Info("route restored", "route", rt.Name, "listen", rt.Listen, "host", rt.Host,
					"stable", rec.Split.Stable, "canary", rec.Split.Canary, "weight", rec.Split.Weight)
				continue
			}
			// Serving every target beats serving none until the canary's
			// next step or its rollback sets the split again.
			log.Error("route split not restored: sending traffic to all its targets", "route", rt.Name, "weight", rec.Split.Weight, "error", err)
		}
		if err := p.SetTargets(ctx, rt.Name, rec.Targets); err != nil {
			log.Error("route targets not restored", "route", rt.Name, "targets", rec.Targets, "error", err)
			continue
		}
		log.Info("route restored", "route", rt.Name, "listen", rt.Listen, "host", rt.Host, "targets", rec.Targets)
	}
	return nil
}

// restoreSplit applies a saved split to the route.
func restoreSplit(ctx context.Context, p Proxy, name string, s *store.RouteSplit) error {
	sp, ok := p.(splitSetter)
	if !ok {
		return errors.New("the proxy cannot split traffic by weight")
	}
	return sp.SetSplit(ctx, name, lb.Split{Stable: s.Stable, Canary: s.Canary, Weight: s.Weight})
}
