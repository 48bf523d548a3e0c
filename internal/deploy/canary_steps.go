package deploy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// splitter is a router that can send a share of a route's requests to a
// canary (the proxy per request, nginx by upstream weights, DNS by
// weighted answers).
type splitter interface {
	SetSplit(ctx context.Context, route string, s lb.Split) error
}

// applySplit sends s.Weight percent of the route's new requests to the
// step's containers and the rest to the targets that served before the
// canary began. Undoing it sends everything back to those.
func (x *Executor) applySplit(ctx context.Context, s strategies.Step, d *done) error {
	if x.Router == nil {
		return noRouter{fmt.Sprintf("route %s needs the built-in proxy, which runs in the daemon: start `cutover serve`", s.Route.Route.Name)}
	}
	sp, ok := x.Router.(splitter)
	if !ok {
		return fmt.Errorf("route %s: this router cannot split traffic by weight", s.Route.Route.Name)
	}
	name := s.Route.Route.Name
	canary, err := x.addrs(ctx, s.Route, s.Containers)
	if err != nil {
		return err
	}
	current, err := x.Router.Targets(ctx, name)
	if err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	var stable []string
	for _, a := range current {
		if !slices.Contains(canary, a) {
			stable = append(stable, a)
		}
	}
	d.prev = stable
	if err := sp.SetSplit(ctx, name, lb.Split{Stable: stable, Canary: canary, Weight: s.Weight}); err != nil {
		return fmt.Errorf("route %s: %w", name, err)
	}
	x.canaryAddrs(name, canary, s.Containers)
	if x.OnWeight != nil {
		x.OnWeight(ctx, s.Weight)
	}
	return nil
}

// canaryAddrs remembers a route's canary targets for pause steps, with the
// container behind each (addrs are in the order of containers), so a
// target the router's probe takes out is reported as its container.
func (x *Executor) canaryAddrs(route string, addrs, containers []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.canary == nil {
		x.canary = map[string]map[string]string{}
	}
	byAddr := make(map[string]string, len(addrs))
	for i, a := range addrs {
		byAddr[a] = containers[i]
	}
	x.canary[route] = byAddr
}

// pause holds a canary step for s.Duration, or until promoted when it is
// zero. It fails when a canary container exits, restarts or turns
// unhealthy, or when the router's probe takes a canary target out.
func (x *Executor) pause(ctx context.Context, s strategies.Step) error {
	poll := x.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	restarts := map[string]int{}
	for _, n := range s.Containers {
		c, err := x.Engine.InspectContainer(ctx, n)
		if err != nil {
			return err
		}
		restarts[n] = c.RestartCount
	}
	until := "until `cutover promote`"
	var deadline time.Time
	if s.Duration > 0 {
		deadline = x.now().Add(s.Duration)
		until = fmt.Sprintf("until %s (or `cutover promote`)", deadline.Local().Format(time.TimeOnly))
	}
	x.info(fmt.Sprintf("canary at %d%%: holding %s; cutover abort or rollback sends all traffic back", s.Weight, until))
	for {
		for _, n := range s.Containers {
			c, err := x.Engine.InspectContainer(ctx, n)
			if err != nil {
				return err
			}
			switch {
			case c.State == "exited" || c.State == "dead":
				return &monitorFailure{n, fmt.Errorf("canary container %s exited with code %d at %d%%: %w", n, c.ExitCode, s.Weight, ErrNotReady)}
			case c.RestartCount > restarts[n] || c.State == "restarting":
				return &monitorFailure{n, fmt.Errorf("canary container %s restarted at %d%%: %w", n, s.Weight, ErrNotReady)}
			case c.Health == "unhealthy":
				return &monitorFailure{n, fmt.Errorf("canary container %s turned unhealthy at %d%%: %w", n, s.Weight, ErrNotReady)}
			}
		}
		if err := x.canaryProbes(ctx, s.Weight, poll); err != nil {
			return err
		}
		if x.Promoted != nil && x.Promoted(ctx) {
			x.info(fmt.Sprintf("canary at %d%%: promoted", s.Weight))
			return nil
		}
		if !deadline.IsZero() && !x.now().Before(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// exitGrace is how long a canary target the router's probe took out may
// still be reported running before it is taken for a live container: the
// engine records an exit some milliseconds after the process's socket
// closed, which is what the probe sees.
const exitGrace = time.Second

// canaryProbes fails when the router reports a canary target unhealthy.
// The failure names the target's container (and its exit code when it
// exited), as the container checks of pause do, so the release is
// recorded with the container's last log lines.
func (x *Executor) canaryProbes(ctx context.Context, weight int, poll time.Duration) error {
	x.mu.Lock()
	canary := x.canary
	x.mu.Unlock()
	if x.Router == nil || len(canary) == 0 {
		return nil
	}
	for _, r := range x.Router.Status() {
		byAddr := canary[r.Route.Name]
		for _, t := range r.Targets {
			name, ok := byAddr[t.Addr]
			if !ok || t.Healthy || t.LastError == "" {
				continue
			}
			probe := fmt.Sprintf("the router's health probe of %s on route %s fails: %s", t.Addr, r.Route.Name, t.LastError)
			c, err := x.settled(ctx, name, poll)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				return &monitorFailure{name, fmt.Errorf("canary container %s at %d%%: %s (inspecting it: %v): %w", name, weight, probe, err, ErrNotReady)}
			case c.State == "exited" || c.State == "dead":
				return &monitorFailure{name, fmt.Errorf("canary container %s exited with code %d at %d%% (%s): %w", name, c.ExitCode, weight, probe, ErrNotReady)}
			}
			return &monitorFailure{name, fmt.Errorf("canary container %s is %s at %d%% but %s: %w", name, c.State, weight, probe, ErrNotReady)}
		}
	}
	return nil
}

// settled inspects a container until the engine reports it not running,
// for up to exitGrace.
func (x *Executor) settled(ctx context.Context, name string, poll time.Duration) (engine.Container, error) {
	grace := time.NewTimer(exitGrace)
	defer grace.Stop()
	for {
		c, err := x.Engine.InspectContainer(ctx, name)
		if err != nil || !c.Running() {
			return c, err
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-grace.C:
			return c, nil
		case <-time.After(poll):
		}
	}
}

func (x *Executor) info(msg string) {
	if x.Observer != nil {
		x.Observer.Event(Event{Time: x.now(), Stack: x.Stack, Release: x.Release, Kind: KindMessage, Status: "info", Message: msg})
	}
	if x.Logger != nil {
		x.Logger.Info(msg)
	}
}
