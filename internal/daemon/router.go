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
// with the routing table (each route and its active targets) written to
// the store after every change, so a restarted daemon routes as before.
type persistingRouter struct {
	proxy Proxy
	store *store.Store
	log   *slog.Logger

	mu     sync.Mutex
	routes map[string]lb.Route // as last ensured, by name
}

var _ deploy.Router = (*persistingRouter)(nil)

func newPersistingRouter(p Proxy, s *store.Store, log *slog.Logger) *persistingRouter {
	return &persistingRouter{proxy: p, store: s, log: log, routes: map[string]lb.Route{}}
}

// EnsureRoute creates or updates the route, then saves it.
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
		if err := r.put(ctx, rt, addrs); err != nil {
			return err
		}
	}
	err := r.proxy.SetTargets(ctx, name, addrs)
	return errors.Join(err, r.save(ctx, name))
}

// SetSplit splits the route's traffic (a canary step), then saves the
// targets the proxy has.
func (r *persistingRouter) SetSplit(ctx context.Context, name string, s lb.Split) error {
	sp, ok := r.proxy.(interface {
		SetSplit(ctx context.Context, route string, s lb.Split) error
	})
	if !ok {
		return fmt.Errorf("route %s: the proxy cannot split traffic by weight", name)
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

// save writes the route as the proxy now has it, or deletes it when the
// proxy has no such route. It runs even when the operation's ctx was
// cancelled (an undo must be saved too).
func (r *persistingRouter) save(ctx context.Context, name string) error {
	ctx = context.WithoutCancel(ctx)
	targets, err := r.proxy.Targets(ctx, name)
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
	return r.put(ctx, rt, targets)
}

func (r *persistingRouter) put(ctx context.Context, rt lb.Route, targets []string) error {
	config, err := json.Marshal(rt)
	if err != nil {
		return fmt.Errorf("route %s: encoding: %w", rt.Name, err)
	}
	rec := store.Route{Name: rt.Name, Config: config, Targets: slices.Clone(targets)}
	if err := r.store.PutRoute(context.WithoutCancel(ctx), rec); err != nil {
		return fmt.Errorf("route %s: saving the routing table: %w", rt.Name, err)
	}
	return nil
}

// restoreRoutes applies the saved routing table to the proxy: each route
// with the targets it had. Containers keep their addresses while they
// run; a target that is gone fails the proxy's health probes and gets no
// traffic. A route that cannot be applied (its port taken) is logged and
// kept in the store.
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
		if err := p.SetTargets(ctx, rt.Name, rec.Targets); err != nil {
			log.Error("route targets not restored", "route", rt.Name, "targets", rec.Targets, "error", err)
			continue
		}
		log.Info("route restored", "route", rt.Name, "listen", rt.Listen, "host", rt.Host, "targets", rec.Targets)
	}
	return nil
}
