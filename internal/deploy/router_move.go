package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// checkMove refuses a release whose routes another kind of router serves
// now (x-cutover.router changed from proxy to nginx, say). Both routers
// would need the route's port or name at once, and cutover cannot hand a
// live route from one to the other without a gap; refusing before
// anything changes leaves the stack serving as it did.
func (d *Deployer) checkMove(ctx context.Context, st *compose.Stack, plan *strategies.Plan) error {
	m, ok := d.Router.(*RouterMux)
	if !ok {
		return nil // one router serves every route
	}
	seen := map[string]bool{}
	for _, s := range plan.Steps {
		if s.Route == nil || seen[s.Route.Route.Name] {
			continue
		}
		seen[s.Route.Route.Name] = true
		if err := m.checkMove(ctx, st, s.Route.Route); err != nil {
			return err
		}
	}
	return nil
}

// checkMove refuses r when the stack's serving release routed it with
// another kind of router that still has it. It changes nothing in the mux
// (a deploy tells it the stack's routing only once it holds the lock), so
// later calls (down, status) find the route where it is.
func (m *RouterMux) checkMove(ctx context.Context, st *compose.Stack, r lb.Route) error {
	if m.store == nil {
		return nil
	}
	prev, err := servingStack(ctx, m.store, st.Name)
	if err != nil {
		// Not knowing where the routes are must not stop a deploy that
		// may well keep its router: the router itself refuses a clash.
		m.log.Warn("router move check skipped: the serving release cannot be read", "stack", st.Name, "error", err)
		return nil
	}
	if prev == nil {
		return nil
	}
	was := routingOf(prev)
	now := kindOf(r)
	if was.kind == now && (now != compose.RouterDNS || was.dns.EffectiveMode() == routingOf(st).dns.EffectiveMode()) {
		return nil
	}
	old, err := m.backend(ctx, was, r.Name)
	if err != nil {
		return nil // that router is not here (the proxy without the daemon): nothing to hand over
	}
	if _, err := old.Targets(ctx, r.Name); err != nil { // lb.ErrNoRoute: it has no such route
		return nil
	}
	return BadInput(fmt.Sprintf("%s.router: route %s is served by router %s now and this release would serve it with %s; "+
		"cutover cannot move a live route between routers (both would need it at once): keep router %s, "+
		"or run `cutover down %s` and deploy again (traffic stops in between)",
		compose.ExtensionKey, r.Name, describeRouter(was), describeRouterKind(now, st), describeRouter(was), st.Name))
}

// servingStack loads the stack as its serving release recorded it; nil
// when no release serves.
func servingStack(ctx context.Context, s *store.Store, name string) (*compose.Stack, error) {
	rel, err := s.LatestRelease(ctx, name, store.StatusActive, store.StatusAwaitingConfirm)
	if errors.Is(err, store.ErrReleaseNotFound) || errors.Is(err, store.ErrStackNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading releases of %s: %w", name, err)
	}
	rec, err := s.GetStack(ctx, name)
	if err != nil {
		return nil, err
	}
	if rec.Down || len(rel.Spec) == 0 {
		return nil, nil
	}
	st, err := compose.LoadRemote(ctx, name, rec.WorkingDir, rec.ConfigFiles, rel.Spec)
	if err != nil {
		return nil, fmt.Errorf("release %d of %s: %w", rel.Number, name, err)
	}
	return st, nil
}

func describeRouter(sr stackRouting) string {
	if sr.kind == compose.RouterDNS {
		return "dns (" + sr.dns.EffectiveMode() + ")"
	}
	return sr.kind
}

func describeRouterKind(kind string, st *compose.Stack) string {
	if kind == compose.RouterDNS {
		return "dns (" + routingOf(st).dns.EffectiveMode() + ")"
	}
	return kind
}
