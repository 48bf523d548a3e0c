package rolling

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// RollbackPlan puts back the previous release while release N awaits
// confirmation: its stopped containers (kept as <name>_old) start again,
// in batches of the service's rollback_config and health-gated, the
// release's containers stop, and what release N added is removed. prev is
// the previous release's desired state (for order, readiness and policy).
func RollbackPlan(current strategies.Snapshot, prev strategies.Desired, release int) (*strategies.Plan, error) {
	p := &strategies.Plan{Stack: prev.Stack, Release: release, Strategy: "rollback", Failure: map[string]strategies.FailurePolicy{}}
	services := slices.Clone(prev.Services)
	slices.Reverse(services) // dependents first, as a rollback unwinds
	known := map[string]bool{}
	p.Steps = append(p.Steps, ensureRoutes(prev)...)
	restoreColor(p, current, prev)
	for _, svc := range services {
		known[svc.Name] = true
		rt := routerOf(prev, svc.Name)
		if prev.Color != "" {
			rt = rt.uncolored(prev.Stack, prev.Color) // the release's own containers are uncolored
		}
		if err := rollbackService(p, svc, current.Containers[svc.Name], release, rt); err != nil {
			return nil, err
		}
	}
	// Services release N added: stop and remove them.
	for _, name := range current.Services() {
		if known[name] {
			continue
		}
		for _, c := range current.Containers[name] {
			if c.Running() {
				p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionStop, Service: name, Container: c.Name, Cause: fmt.Sprintf("service added by release %d", release)})
			}
			p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: name, Container: c.Name, Cause: fmt.Sprintf("service added by release %d", release)})
		}
	}
	return p, nil
}

func rollbackService(p *strategies.Plan, svc strategies.Service, observed []strategies.Observed, release int, rt router) error {
	pol := svc.Rollback
	order, note, err := effectiveOrder(svc, pol)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	if note != "" {
		p.Notes = append(p.Notes, note)
	}
	// A failed step of a rollback undoes the rollback: the release stays.
	p.Failure[svc.Name] = strategies.FailurePolicy{Action: "rollback"}

	byName := map[string]strategies.Observed{}
	for _, c := range observed {
		byName[c.Name] = c
	}
	type swap struct{ name string }
	var swaps []swap
	var restarts []strategies.Observed
	for _, c := range observed {
		if strings.HasSuffix(c.Name, strategies.SuffixNew) {
			// A container of the release that never took its compose name
			// (a start-first batch paused at its health gate): it may be
			// running, serving under the service's alias.
			if c.Running() {
				p.Steps = append(p.Steps, rt.drain(c.Name, "leaves the route before it stops")...)
				p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("started by release %d, never took its name", release)})
			}
			p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("started by release %d, never took its name", release)})
			continue
		}
		if strategies.IsTemporaryName(c.Name) {
			continue
		}
		canonical := c.Number > 0 && c.Number <= svc.Replicas && c.Name == svc.ContainerName(c.Number)
		_, hasOld := byName[c.Name+strategies.SuffixOld]
		switch {
		case canonical && hasOld:
			swaps = append(swaps, swap{name: c.Name})
		case c.Release < release:
			// The previous release's own container; start it if the
			// release stopped it (scaled down).
			if !c.Running() {
				restarts = append(restarts, c)
			}
		default:
			// Added by the release: a replica the previous one did not have.
			if c.Running() {
				p.Steps = append(p.Steps, rt.drain(c.Name, "leaves the route before it stops")...)
				p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("added by release %d", release)})
			}
			p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("added by release %d", release)})
		}
	}
	batch := max(pol.BatchSize, 1)
	for i := 0; i < len(swaps); i += batch {
		if i > 0 && pol.Interval > 0 {
			p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionSleep, Service: svc.Name, Duration: pol.Interval, Cause: "interval between batches"})
		}
		var starts, waits, adds, drains, stops, renames []strategies.Step
		for _, s := range swaps[i:min(i+batch, len(swaps))] {
			old := s.name + strategies.SuffixOld
			drains = append(drains, rt.drain(s.name, "leaves the route before it stops")...)
			stops = append(stops, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: s.name, Cause: fmt.Sprintf("rolled back from release %d", release)})
			renames = append(renames,
				strategies.Step{Action: strategies.ActionRename, Service: svc.Name, Container: s.name, NewName: s.name + strategies.SuffixNew, Cause: "step aside for the previous container"},
				strategies.Step{Action: strategies.ActionRename, Service: svc.Name, Container: old, NewName: s.name, Cause: "the previous container takes its name back"})
			p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: s.name + strategies.SuffixNew, Cause: fmt.Sprintf("rolled back from release %d", release)})
			if order == "start-first" {
				starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: old, Cause: "restart the previous container"})
				waits = append(waits, strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: old, Ready: svc.Ready, Cause: "health gate"})
				adds = append(adds, rt.add(old, "ready: joins the route")...)
			} else {
				starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: s.name, Cause: "restart the previous container"})
				waits = append(waits, strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: s.name, Ready: svc.Ready, Cause: "health gate"})
				adds = append(adds, rt.add(s.name, "ready: joins the route")...)
			}
		}
		if order == "start-first" {
			p.Steps = append(p.Steps, starts...)
			p.Steps = append(p.Steps, waits...)
			p.Steps = append(p.Steps, adds...)
			p.Steps = append(p.Steps, drains...)
			p.Steps = append(p.Steps, stops...)
			p.Steps = append(p.Steps, renames...)
		} else {
			p.Steps = append(p.Steps, drains...)
			p.Steps = append(p.Steps, stops...)
			p.Steps = append(p.Steps, renames...)
			p.Steps = append(p.Steps, starts...)
			p.Steps = append(p.Steps, waits...)
			p.Steps = append(p.Steps, adds...)
		}
	}
	strategies.SortObserved(restarts)
	for _, c := range restarts {
		p.Steps = append(p.Steps,
			strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("stopped by release %d", release)},
			strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: c.Name, Ready: svc.Ready, Cause: "health gate"})
		p.Steps = append(p.Steps, rt.add(c.Name, "ready: joins the route")...)
	}
	return nil
}
