package rolling

import (
	"fmt"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// A stack that ran blue-green and now rolls leaves its colors: the serving
// color's containers of each service drain and stop once the service's
// new containers serve, and are removed at confirm, so a rollback can
// start them again. (The standby color is gone by then: deploying while a
// release awaits confirmation confirms it first.)

// leaveColors plans the colored containers of svc out of service after
// its batches.
func leaveColors(p *strategies.Plan, current strategies.Snapshot, svc strategies.Service, release int, rt router) {
	for _, color := range []string{strategies.ColorBlue, strategies.ColorGreen} {
		cs := current.Colors[color][svc.Name]
		rt := rt.inColor(current.Stack, color)
		for _, c := range cs {
			cause := fmt.Sprintf("color %s leaves: release %d runs %s in place", color, release, svc.Name)
			if c.Running() {
				p.Steps = append(p.Steps, rt.drain(c.Name, "leaves the route before it stops")...)
				p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: c.Name, Cause: cause})
			}
			p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: c.Name, Cause: cause})
		}
	}
}

// restoreColor plans the previous release's color back into service when
// rolling back a release that left blue-green: its stopped containers
// start, pass their health gate and join the route before anything of the
// rolled-back release stops.
func restoreColor(p *strategies.Plan, current strategies.Snapshot, prev strategies.Desired) {
	if prev.Color == "" {
		return
	}
	for _, svc := range prev.Services {
		rt := routerOf(prev, svc.Name).inColor(prev.Stack, prev.Color)
		for _, c := range current.Colors[prev.Color][svc.Name] {
			if !c.Running() {
				p.Steps = append(p.Steps,
					strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("color %s served release %d", prev.Color, c.Release)},
					strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: c.Name, Ready: svc.Ready, Cause: "health gate"})
			}
			p.Steps = append(p.Steps, rt.add(c.Name, "ready: joins the route")...)
		}
	}
}

// inColor is the router of a color's containers: the same route, reached
// on the color's copy of the route's network.
func (r router) inColor(stack, color string) router {
	if r.route == nil {
		return r
	}
	route := *r.route
	if !strings.HasPrefix(route.Network, stack+"-"+color+"_") && !strings.HasSuffix(route.Network, "_"+color) {
		route.Network = strategies.ColorNetwork(stack, color, route.Network) // not yet the color's copy
	}
	return router{route: &route, service: r.service}
}

// uncolored is the router of the stack's own containers when r's route is
// a color's (a rollback to a release that ran in a color): the same route,
// reached on the stack's network the color's network copies.
func (r router) uncolored(stack, color string) router {
	if r.route == nil {
		return r
	}
	route := *r.route
	if key, ok := strings.CutPrefix(route.Network, stack+"-"+color+"_"); ok {
		route.Network = stack + "_" + key
	} else if name, ok := strings.CutSuffix(route.Network, "_"+color); ok {
		route.Network = name
	}
	return router{route: &route, service: r.service}
}
