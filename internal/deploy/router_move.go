package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/cutover/cutover/compose"
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
	if !ok || !needsRouter(plan.Steps) {
		return nil // one router serves every route, or there are none
	}
	_, prev, err := d.Serving(ctx, st.Name)
	if errors.Is(err, ErrBadInput) {
		return nil // nothing serves: no stack yet, or it is down
	}
	if err != nil {
		// Not knowing where the routes are must not stop a deploy that
		// may well keep its router: the router itself refuses a clash.
		d.logger().Warn("router move check skipped: the serving release cannot be read", "stack", st.Name, "error", err)
		return nil
	}
	was, next := routingOf(prev), routingOf(st)
	seen := map[string]bool{}
	for _, s := range plan.Steps {
		if s.Route == nil || seen[s.Route.Route.Name] {
			continue
		}
		seen[s.Route.Route.Name] = true
		if err := m.checkMove(ctx, was, next, st.Name, s.Route.Route); err != nil {
			return err
		}
	}
	return nil
}

// checkMove refuses r, a route of the next release (routed as next says),
// when the serving release routed it with another kind of router (was)
// that still has it. It changes nothing in the mux (a deploy tells it the
// stack's routing only once it holds the lock), so later calls (down,
// status) find the route where it is.
func (m *RouterMux) checkMove(ctx context.Context, was, next stackRouting, stack string, r lb.Route) error {
	now := kindOf(r)
	if was.kind == now && (now != compose.RouterDNS || was.dns.EffectiveMode() == next.dns.EffectiveMode()) {
		return nil
	}
	old, err := m.backend(ctx, was, r.Name)
	if err != nil {
		return nil // that router is not here (the proxy without the daemon): nothing to hand over
	}
	if _, err := old.Targets(ctx, r.Name); err != nil { // lb.ErrNoRoute: it has no such route
		return nil
	}
	next.kind = now
	return BadInput(fmt.Sprintf("%s.router: route %s is served by router %s now and this release would serve it with %s; "+
		"cutover cannot move a live route between routers (both would need it at once): keep router %s, "+
		"or run `cutover down %s` and deploy again (traffic stops in between)",
		compose.ExtensionKey, r.Name, describeRouter(was), describeRouter(next), describeRouter(was), stack))
}

func describeRouter(sr stackRouting) string {
	if sr.kind == compose.RouterDNS {
		return "dns (" + sr.dns.EffectiveMode() + ")"
	}
	return sr.kind
}
