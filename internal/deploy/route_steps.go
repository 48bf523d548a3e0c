package deploy

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/strategies"
)

// needsRouter reports whether a plan has steps only a router can run.
func needsRouter(steps []strategies.Step) bool {
	for _, s := range steps {
		if s.Route != nil {
			return true
		}
	}
	return false
}

// applyRoute runs a route step. d.prev records what undoing it restores.
func (x *Executor) applyRoute(ctx context.Context, s strategies.Step, d *done) error {
	if x.Router == nil {
		return noRouter{fmt.Sprintf("route %s needs the built-in proxy, which runs in the daemon: start `cutover serve`", s.Route.Route.Name)}
	}
	name := s.Route.Route.Name
	switch s.Action {
	case strategies.ActionEnsureRoute:
		_, err := x.Router.Targets(ctx, name)
		d.created = err != nil // the route did not exist: undo removes it
		return x.Router.EnsureRoute(ctx, s.Route.Route)
	case strategies.ActionRemoveRoute:
		return x.Router.RemoveRoute(ctx, name)
	case strategies.ActionCheckTargets:
		addrs, err := x.addrs(ctx, s.Route, s.Containers)
		if err != nil {
			return err
		}
		return x.Router.CheckTargets(ctx, name, addrs)
	}
	current, err := x.Router.Targets(ctx, name)
	if err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	d.prev = slices.Clone(current)
	var next []string
	switch s.Action {
	case strategies.ActionSwitch:
		if next, err = x.addrs(ctx, s.Route, s.Containers); err != nil {
			return err
		}
	case strategies.ActionRouteAdd:
		addr, err := x.addr(ctx, s.Route, s.Container)
		if err != nil {
			return err
		}
		next = append(slices.Clone(current), addr)
		if slices.Contains(current, addr) {
			next = current
		}
	case strategies.ActionRouteDrain:
		addr, err := x.addr(ctx, s.Route, s.Container)
		if err != nil {
			return err
		}
		for _, a := range current {
			if a != addr {
				next = append(next, a)
			}
		}
	}
	if err := x.Router.SetTargets(ctx, name, next); err != nil {
		return err
	}
	if s.Action == strategies.ActionSwitch {
		x.noteSwitch(ctx, s.Route, current, next)
	}
	return nil
}

// undoRoute puts a route back as it was before step d.
func (x *Executor) undoRoute(ctx context.Context, d done) error {
	if x.Router == nil {
		return nil
	}
	switch d.step.Action {
	case strategies.ActionEnsureRoute:
		if d.created {
			return x.Router.RemoveRoute(ctx, d.step.Route.Route.Name)
		}
	case strategies.ActionSwitch, strategies.ActionRouteAdd, strategies.ActionRouteDrain, strategies.ActionSplit:
		return x.Router.SetTargets(ctx, d.step.Route.Route.Name, d.prev)
	}
	return nil
}

func (x *Executor) addrs(ctx context.Context, r *strategies.Route, containers []string) ([]string, error) {
	out := make([]string, 0, len(containers))
	for _, c := range containers {
		a, err := x.addr(ctx, r, c)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// addr is a container's address on the route's network; under router dns,
// the address its color publishes on, with the published port.
func (x *Executor) addr(ctx context.Context, r *strategies.Route, container string) (string, error) {
	c, err := x.Engine.InspectContainer(ctx, container)
	if err != nil {
		return "", fmt.Errorf("route %s: %w", r.Route.Name, err)
	}
	if len(r.Addresses) > 0 {
		color := c.Labels[compose.LabelColor]
		ip := r.Addresses[color]
		if ip == "" {
			return "", fmt.Errorf("route %s: container %s has color %q, which route.addresses gives no address (blue: %s, green: %s)",
				r.Route.Name, container, color, r.Addresses["blue"], r.Addresses["green"])
		}
		return net.JoinHostPort(ip, strconv.Itoa(r.PublishedPort)), nil
	}
	ip := c.Networks[r.Network]
	if ip == "" {
		return "", fmt.Errorf("route %s: container %s has no address on network %s (is it running?)", r.Route.Name, container, r.Network)
	}
	return net.JoinHostPort(ip, strconv.Itoa(r.Port)), nil
}
