// Package nginx is the nginx router: it routes a stack's services through
// an nginx that already runs on the host. Each route is one generated file
// in a directory nginx includes (an upstream with the route's targets and
// a server on its listen address); a switch rewrites the file atomically,
// has nginx test it (nginx -t) and reload, and probes through nginx until
// the answers come from the new file. A file nginx refuses is replaced by
// the previous one and the switch fails with nginx's message.
package nginx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cutover/cutover/lb"
)

// Router is the nginx router. It is safe for concurrent use, and several
// processes may share one Dir: writes, tests and reloads take the
// directory's lock, and the files are the routing table (a new Router on
// the same Dir knows every route, its targets and its generation).
type Router struct {
	cfg Config
	log *slog.Logger
	// sem lets one goroutine at a time write, test and reload.
	sem chan struct{}

	mu       sync.Mutex
	probes   map[string]map[string]string // route → target → last probe error ("" passed)
	draining map[string][]string          // route → targets old workers may still use
	warned   bool                         // the notice file was seen not to work

	// extra is added to every server block written (a test hook).
	extra string
}

// New returns a router on cfg.Dir, creating the directory and its common
// file when missing, removing what a cutover process that died mid-switch
// left, and checking that every route file in it can be read back. A nil
// logger discards.
func New(cfg Config, logger *slog.Logger) (*Router, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Dir != "" {
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("nginx router: Config.Dir %q: %w", cfg.Dir, err)
		}
		cfg.Dir = abs
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("nginx router: %w", err)
	}
	r := &Router{
		cfg:      cfg,
		log:      logger,
		sem:      make(chan struct{}, 1),
		probes:   make(map[string]map[string]string),
		draining: make(map[string][]string),
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.CommandTimeout)
	defer cancel()
	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("nginx router: %w", err)
	}
	defer unlock()
	if err := removeLeftovers(cfg.Dir); err != nil {
		return nil, fmt.Errorf("nginx router: %w", err)
	}
	common := filepath.Join(cfg.Dir, commonFile)
	if cur, err := os.ReadFile(common); err != nil || string(cur) != string(renderCommon(cfg.Dir)) {
		if err := writeAtomic(common, renderCommon(cfg.Dir)); err != nil {
			return nil, fmt.Errorf("nginx router: %w", err)
		}
	}
	routes, err := readRoutes(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("nginx router: %w", err)
	}
	logger.Debug("nginx router ready", "dir", cfg.Dir, "routes", len(routes))
	return r, nil
}

// EnsureRoute creates or updates a route's file, keeping its targets, and
// has nginx load it (a route without targets answers 503). Nothing is
// reloaded when the route is unchanged. A route nginx refuses (its listen
// address is taken by another default server, say) is not added, and the
// error quotes nginx.
func (r *Router) EnsureRoute(ctx context.Context, route lb.Route) error {
	route, err := normalize(route)
	if err != nil {
		return err
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	path := r.path(route.Name)
	cur, prev, existed, err := readRoute(path)
	if err != nil {
		return err
	}
	if existed && cur.Route.Name != route.Name {
		return fmt.Errorf("%w: route %s: its file %s holds route %s", lb.ErrInvalid, route.Name, path, cur.Route.Name)
	}
	if existed && cur.Route == route {
		return nil
	}
	next := routeState{Route: route, Targets: cur.Targets, Split: cur.Split}
	if next.Generation, err = r.nextGeneration(); err != nil {
		return err
	}
	if _, err := r.apply(ctx, path, &next, prev, existed); err != nil {
		return err
	}
	r.log.Info("route ensured", "route", route.Name, "listen", route.Listen, "host", route.Host,
		"generation", next.Generation, "file", path)
	return nil
}

// RemoveRoute removes the route's file and has nginx reload, then waits
// like SetTargets for the old workers to finish the route's requests.
func (r *Router) RemoveRoute(ctx context.Context, name string) error {
	unlock, err := r.lock(ctx)
	if err != nil {
		return err
	}
	path := r.path(name)
	cur, prev, existed, err := readRoute(path)
	if err == nil && (!existed || cur.Route.Name != name) {
		err = fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	if err != nil {
		unlock()
		return err
	}
	old, err := r.apply(ctx, path, nil, prev, true)
	unlock()
	if err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.probes, name)
	r.mu.Unlock()
	r.log.Info("route removed", "route", name, "file", path)
	return r.drain(ctx, cur.Route, cur.addrs(), old)
}

// CheckTargets probes each addr directly (GET of the route's health path,
// 2xx passes; without a path, a TCP connect) every Health.Interval until
// each has passed, without sending it traffic. It fails when ctx ends,
// naming every target that did not pass and its last error. Give ctx a
// deadline.
func (r *Router) CheckTargets(ctx context.Context, name string, addrs []string) error {
	st, err := r.route(name)
	if err != nil {
		return err
	}
	addrs, err = uniqueTargets(name, addrs)
	if err != nil {
		return err
	}
	return awaitTargets(ctx, st.Route, addrs, func(addr string, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.probes[name] == nil {
			r.probes[name] = make(map[string]string)
		}
		r.probes[name][addr] = errString(err)
	})
}

// SetTargets makes addrs the route's targets: it writes the file, has
// nginx test and reload it, and probes through nginx until the answers
// come from it. Then, once the workers of the previous configuration
// have finished their requests on the targets that left (or the route's
// DrainTimeout passed: not an error), it returns. A configuration nginx
// refuses, a failed reload or no answer from the new file within
// VerifyTimeout fails the switch with the previous file back in place.
// If ctx ends during the drain, the switch stands and the error says the
// drain was cut short. An empty addrs makes the route answer 503.
func (r *Router) SetTargets(ctx context.Context, name string, addrs []string) error {
	addrs, err := uniqueTargets(name, addrs)
	if err != nil {
		return err
	}
	return r.switchTo(ctx, name, func(st routeState) routeState {
		st.Targets, st.Split = addrs, nil
		return st
	})
}

// SetSplit sends s.Weight percent of the route's requests to s.Canary and
// the rest to s.Stable, as upstream weights (see splitServers); otherwise
// it switches like SetTargets.
func (r *Router) SetSplit(ctx context.Context, name string, s lb.Split) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%w: route %s: %v", lb.ErrInvalid, name, err)
	}
	var err error
	if s.Stable, err = uniqueTargets(name, s.Stable); err != nil {
		return err
	}
	if s.Canary, err = uniqueTargets(name, s.Canary); err != nil {
		return err
	}
	for _, a := range s.Canary {
		if slices.Contains(s.Stable, a) {
			return fmt.Errorf("%w: route %s: target %s is both stable and canary", lb.ErrInvalid, name, a)
		}
	}
	return r.switchTo(ctx, name, func(st routeState) routeState {
		st.Targets, st.Split = nil, &s
		return st
	})
}

// switchTo applies change to the route's state and, when its servers
// differ, switches nginx to it and drains.
func (r *Router) switchTo(ctx context.Context, name string, change func(routeState) routeState) error {
	unlock, err := r.lock(ctx)
	if err != nil {
		return err
	}
	path := r.path(name)
	cur, prev, existed, err := readRoute(path)
	if err == nil && (!existed || cur.Route.Name != name) {
		err = fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	if err != nil {
		unlock()
		return err
	}
	next := change(cur)
	if next.sameTargets(cur) {
		unlock()
		return nil
	}
	if next.Generation, err = r.nextGeneration(); err != nil {
		unlock()
		return err
	}
	old, err := r.apply(ctx, path, &next, prev, true)
	unlock()
	if err != nil {
		return err
	}
	var leaving []string
	for _, a := range cur.addrs() {
		if !slices.Contains(next.addrs(), a) {
			leaving = append(leaving, a)
		}
	}
	r.log.Info("targets switched", "route", name, "generation", next.Generation,
		"targets", next.addrs(), "draining", len(leaving))
	return r.drain(ctx, next.Route, leaving, old)
}

// Targets returns the route's targets, as its file says.
func (r *Router) Targets(ctx context.Context, name string) ([]string, error) {
	st, err := r.route(name)
	if err != nil {
		return nil, err
	}
	return st.addrs(), nil
}

// Status lists every route in Dir, sorted by name, with its targets:
// active ones (healthy unless cutover's last probe of it failed — nginx
// itself takes a failing server out for a while after a failed request),
// then the ones the previous configuration's workers may still be
// finishing requests on (draining).
func (r *Router) Status() []lb.RouteStatus {
	routes, err := readRoutes(r.cfg.Dir)
	if err != nil {
		r.log.Warn("reading routes", "dir", r.cfg.Dir, "err", err)
	}
	names := make([]string, 0, len(routes))
	for n := range routes {
		names = append(names, n)
	}
	sort.Strings(names)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]lb.RouteStatus, 0, len(names))
	for _, n := range names {
		st := routes[n]
		rs := lb.RouteStatus{Route: st.Route, Targets: []lb.TargetStatus{}}
		add := func(addr string, state lb.TargetState) {
			last := r.probes[n][addr]
			rs.Targets = append(rs.Targets, lb.TargetStatus{Addr: addr, State: state, Healthy: last == "", LastError: last})
		}
		for _, a := range st.addrs() {
			add(a, lb.TargetActive)
		}
		for _, a := range r.draining[n] {
			add(a, lb.TargetDraining)
		}
		out = append(out, rs)
	}
	return out
}

// route reads the named route's file.
func (r *Router) route(name string) (routeState, error) {
	st, _, ok, err := readRoute(r.path(name))
	if err != nil {
		return st, err
	}
	if !ok || st.Route.Name != name {
		return st, fmt.Errorf("route %s: %w", name, lb.ErrNoRoute)
	}
	return st, nil
}

// path is the route's file.
func (r *Router) path(name string) string {
	return filepath.Join(r.cfg.Dir, baseName(name)+".conf")
}

// nextGeneration is one above every route file's generation. Call it
// holding the lock.
func (r *Router) nextGeneration() (uint64, error) {
	routes, err := readRoutes(r.cfg.Dir)
	if err != nil {
		return 0, err
	}
	return maxGeneration(routes) + 1, nil
}

// lock serializes writes, tests and reloads, in this process and across
// processes sharing Dir.
func (r *Router) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another nginx switch: %w", ctx.Err())
	}
	unlockDir, err := lockDir(ctx, r.cfg.Dir)
	if err != nil {
		<-r.sem
		return nil, err
	}
	return func() {
		unlockDir()
		<-r.sem
	}, nil
}

// drain waits until the workers that ran the previous configuration have
// exited (or, when they cannot be watched, for Settle), bounded by the
// route's DrainTimeout; the leaving targets show as draining meanwhile.
func (r *Router) drain(ctx context.Context, route lb.Route, leaving []string, old oldWorkers) error {
	if len(leaving) == 0 {
		return nil
	}
	r.mu.Lock()
	r.draining[route.Name] = append(r.draining[route.Name], leaving...)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		d := r.draining[route.Name]
		for _, a := range leaving {
			if i := slices.Index(d, a); i >= 0 {
				d = slices.Delete(d, i, i+1)
			}
		}
		if len(d) == 0 {
			delete(r.draining, route.Name)
		} else {
			r.draining[route.Name] = d
		}
	}()

	if !old.watched {
		if err := sleep(ctx, min(r.cfg.Settle, route.DrainTimeout)); err != nil {
			return fmt.Errorf("route %s: targets switched, drain of %v cut short: %w", route.Name, leaving, err)
		}
		return nil
	}
	start := time.Now()
	done, err := old.set.wait(ctx, route.DrainTimeout)
	r.log.Debug("drain", "route", route.Name, "workers_exited", done, "took", time.Since(start))
	if err != nil {
		return fmt.Errorf("route %s: targets switched, drain of %v cut short: %w", route.Name, leaving, err)
	}
	if !done {
		r.log.Warn("drain timeout: nginx workers of the previous configuration still run",
			"route", route.Name, "workers", old.set.remaining(), "timeout", route.DrainTimeout)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
