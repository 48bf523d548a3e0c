package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// desired builds what a release of strategy wants, with the stack's
// effective router and, for blue-green, the idle color.
func (d *Deployer) desired(ctx context.Context, st *compose.Stack, strategy string, release int, images map[string]compose.ResolvedImage) (strategies.Desired, error) {
	o := compose.DesiredOptions{Router: st.RouterFor(strategy)}
	if colored(strategy) {
		if o.Router == compose.RouterNone {
			return strategies.Desired{}, BadInput(fmt.Sprintf("%s.router: none: strategy %s switches traffic and needs a router (proxy, nginx or dns)", compose.ExtensionKey, strategy))
		}
		if dnsSettings := st.Ext.DNS; strategy == compose.StrategyCanary && o.Router == compose.RouterDNS && dnsSettings != nil &&
			dnsSettings.EffectiveMode() == compose.DNSModeRFC2136 && canaryWeighs(st) {
			return strategies.Desired{}, BadInput(fmt.Sprintf("%s.dns.mode: rfc2136 cannot weight answers (the server answers the whole record set), so canary steps below 100%% cannot run: use the built-in dns server (mode: builtin), the proxy or nginx for canary, or strategy bluegreen", compose.ExtensionKey))
		}
		active, err := d.activeColor(ctx, st.Name)
		if err != nil {
			return strategies.Desired{}, err
		}
		o.Color = strategies.OtherColor(active)
	} else if o.Router == compose.RouterNone && st.Ext.Router == "" {
		active, err := d.activeColor(ctx, st.Name)
		if err != nil {
			return strategies.Desired{}, err
		}
		o.Router = routerFor(st, strategy, active)
	}
	want, err := st.DesiredWith(release, images, o)
	if err != nil {
		return want, BadInput(err.Error())
	}
	if st.Ext.ScaleDownDelay != nil {
		want.ScaleDownDelay = time.Duration(*st.Ext.ScaleDownDelay)
	}
	return want, nil
}

// colored reports whether a strategy runs releases in a color of their own.
func colored(strategy string) bool {
	return strategy == compose.StrategyBlueGreen || strategy == compose.StrategyCanary
}

// routerFor is the router a release of strategy uses on a stack whose
// serving release runs in color (""  when uncolored): x-cutover.router or
// the strategy's default, except that a stack leaving blue-green keeps the
// proxy that serves its port, so its color drains from the route as the
// new containers join (and rejoins it on rollback).
func routerFor(st *compose.Stack, strategy, color string) string {
	r := st.RouterFor(strategy)
	if r == compose.RouterNone && st.Ext.Router == "" && color != "" {
		return compose.RouterProxy
	}
	return r
}

// activeColor is the color of the newest serving release ("" when none
// ran in a color).
func (d *Deployer) activeColor(ctx context.Context, stack string) (string, error) {
	rel, err := d.Store.LatestRelease(ctx, stack, store.StatusActive, store.StatusAwaitingConfirm)
	switch {
	case errors.Is(err, store.ErrReleaseNotFound), errors.Is(err, store.ErrStackNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading releases of %s: %w", stack, err)
	}
	return rel.Color, nil
}

// observe takes the snapshot a plan starts from, with the serving color.
func (d *Deployer) observe(ctx context.Context, stack string) (strategies.Snapshot, error) {
	snap, err := Observe(ctx, d.Engine, stack)
	if err != nil {
		return snap, err
	}
	snap.ActiveColor, err = d.activeColor(ctx, stack)
	return snap, err
}

// checkRouter refuses a plan that needs a router that does not run here
// (the proxy or the built-in DNS server without the daemon) or cannot be
// used (an RFC 2136 key that cannot be read), before anything is recorded.
func (d *Deployer) checkRouter(st *compose.Stack, plan *strategies.Plan) error {
	if !needsRouter(plan.Steps) {
		return nil
	}
	checker, canCheck := d.Router.(interface {
		CanRouteFor(*compose.Stack, lb.Route) error
	})
	for _, s := range plan.Steps {
		switch {
		case s.Route == nil:
		case d.Router == nil:
			return noRouter{fmt.Sprintf("route %s (listen %s) needs the built-in proxy, which runs in the daemon: start `cutover serve` and deploy again (or set %s.router: none)",
				s.Route.Route.Name, s.Route.Route.Listen, compose.ExtensionKey)}
		case canCheck:
			if err := checker.CanRouteFor(st, s.Route.Route); err != nil {
				return err
			}
		}
	}
	return nil
}

// canaryWeighs reports whether a canary step sends a share below 100 %.
func canaryWeighs(st *compose.Stack) bool {
	if st.Ext.Canary == nil {
		return false
	}
	for _, s := range st.Ext.Canary.Steps {
		if s.Weight < 100 {
			return true
		}
	}
	return false
}

// useStack tells a router mux how st's routes are served.
func (d *Deployer) useStack(st *compose.Stack) {
	if m, ok := d.Router.(interface{ UseStack(*compose.Stack) }); ok {
		m.UseStack(st)
	}
}

// noRouter is ErrNoRouter with the route that needs it.
type noRouter struct{ msg string }

func (e noRouter) Error() string        { return e.msg }
func (e noRouter) Is(target error) bool { return target == ErrNoRouter }
