// Package rolling replaces a release in place, in batches, the way
// rancher-compose's --upgrade and compose's deploy.update_config describe:
// start-first (new containers start next to the old and the old stop only
// once the new are ready) or stop-first, an interval between batches, a
// monitor window after the last batch, and a failure action. The old
// containers are stopped but kept until the release is confirmed, so a
// rollback is a restart, not a redeploy.
package rolling

import (
	"fmt"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// Name is the strategy's name on the CLI and in x-cutover.
const Name = "rolling"

// Rolling implements strategies.Strategy.
type Rolling struct{}

var _ strategies.Strategy = Rolling{}

// Name returns "rolling".
func (Rolling) Name() string { return Name }

// AwaitsConfirm is true: the old containers stay, stopped, until confirm.
func (Rolling) AwaitsConfirm() bool { return true }

// Plan rolls every service whose containers differ from the release, in
// dependency order.
func (Rolling) Plan(current strategies.Snapshot, want strategies.Desired) (*strategies.Plan, error) {
	p := &strategies.Plan{Stack: want.Stack, Release: want.Release, Strategy: Name, Failure: map[string]strategies.FailurePolicy{}}
	p.Steps = append(p.Steps, strategies.LeftoverSteps(current)...)
	p.Steps = append(p.Steps, strategies.InfraSteps(current, want)...)
	p.Steps = append(p.Steps, ensureRoutes(want)...)
	for _, svc := range want.Services {
		if err := planService(p, svc, current.Containers[svc.Name], want.Release, routerOf(want, svc.Name)); err != nil {
			return nil, err
		}
		leaveColors(p, current, svc, want.Release, routerOf(want, svc.Name))
	}
	orphanStops, orphanRemoves := strategies.OrphanSteps(current, want)
	p.Steps = append(p.Steps, orphanStops...)
	p.Confirm = append(p.Confirm, orphanRemoves...)
	return p, nil
}

// replacement is one replica to roll.
type replacement struct {
	n       int
	name    string
	old     *strategies.Observed // nil for a new replica
	restart bool                 // same config, just stopped: start it again
}

func planService(p *strategies.Plan, svc strategies.Service, observed []strategies.Observed, release int, rt router) error {
	if svc.FixedName != "" && svc.Replicas > 1 {
		return fmt.Errorf("service %s: container_name %q allows one replica, want %d", svc.Name, svc.FixedName, svc.Replicas)
	}
	pol := svc.Update
	order, note, err := effectiveOrder(svc, pol)
	if err != nil {
		return err
	}
	if note != "" {
		p.Notes = append(p.Notes, note)
	}
	p.Failure[svc.Name] = strategies.FailurePolicy{Action: pol.FailureAction, MaxFailures: pol.MaxFailures(svc.Replicas)}

	byNumber, others := strategies.Canonical(svc, observed)
	var todo []replacement
	for n := 1; n <= svc.Replicas; n++ {
		name := svc.ContainerName(n)
		old, exists := byNumber[n]
		switch {
		case exists && old.Hash == svc.Hash && old.Running():
			p.Steps = append(p.Steps, rt.add(name, "up to date: in the route")...)
			continue
		case exists && old.Hash == svc.Hash:
			todo = append(todo, replacement{n: n, name: name, old: &old, restart: true})
		case exists:
			todo = append(todo, replacement{n: n, name: name, old: &old})
		default:
			todo = append(todo, replacement{n: n, name: name})
		}
	}
	batch := max(pol.BatchSize, 1)
	var rolled []string
	for i := 0; i < len(todo); i += batch {
		part := todo[i:min(i+batch, len(todo))]
		if i > 0 && pol.Interval > 0 {
			p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionSleep, Service: svc.Name, Duration: pol.Interval, Cause: "interval between batches"})
		}
		steps := batchSteps(svc, part, order, release, &p.Confirm, rt)
		batchID := len(p.Steps) + 1 // unique within the plan
		for k := range steps {
			steps[k].Batch = batchID
		}
		p.Steps = append(p.Steps, steps...)
		for _, r := range part {
			rolled = append(rolled, r.name)
		}
	}
	if len(rolled) > 0 && pol.Monitor > 0 {
		p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionMonitor, Service: svc.Name, Containers: rolled, Duration: pol.Monitor, Cause: "monitor window: no crash or unhealthy container"})
	}
	for n, c := range byNumber {
		if n > svc.Replicas {
			others = append(others, c)
		}
	}
	strategies.SortObserved(others)
	for _, c := range others {
		if c.Running() {
			p.Steps = append(p.Steps, rt.drain(c.Name, fmt.Sprintf("scaled to %d replicas", svc.Replicas))...)
			p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("scaled to %d replicas", svc.Replicas)})
		}
		p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("scaled to %d replicas", svc.Replicas)})
	}
	return nil
}

// effectiveOrder applies the published-port rule: two containers cannot
// publish one fixed host port, so start-first needs a router; without one
// it falls back to stop-first only when allowed.
func effectiveOrder(svc strategies.Service, pol strategies.UpdatePolicy) (order, note string, err error) {
	order = pol.Order
	if order == "" {
		order = "start-first"
	}
	if order != "start-first" || len(svc.FixedHostPorts) == 0 {
		return order, "", nil
	}
	ports := strings.Join(svc.FixedHostPorts, ", ")
	if !pol.AllowStopFirst {
		return "", "", fmt.Errorf("service %s publishes host port %s: start-first would run two containers on one port. "+
			"Roll it stop-first (--order stop-first, or deploy.update_config.order), or allow the fallback "+
			"(--allow-stop-first, or x-cutover.rolling.allow_stop_first: true), or route it (x-cutover.router: proxy with cutover serve, or nginx), which lifts this", svc.Name, ports)
	}
	return "stop-first", fmt.Sprintf("service %s publishes host port %s: rolling stop-first instead of start-first (allowed)", svc.Name, ports), nil
}

func batchSteps(svc strategies.Service, part []replacement, order string, release int, confirm *[]strategies.Step, rt router) []strategies.Step {
	var creates, starts, waits, adds, drains, stops, renames []strategies.Step
	for _, r := range part {
		if r.restart {
			starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: r.name, Cause: "up to date but " + r.old.State})
			waits = append(waits, waitReady(svc, r.name))
			adds = append(adds, rt.add(r.name, "ready: joins the route")...)
			continue
		}
		tmp := r.name + strategies.SuffixNew
		spec := svc.Container(r.n)
		spec.Name = tmp
		cause := fmt.Sprintf("new replica %d", r.n)
		if r.old != nil {
			cause = strategies.Describe(*r.old, svc)
		}
		creates = append(creates, strategies.Step{Action: strategies.ActionCreate, Service: svc.Name, Spec: &spec, Cause: cause})
		if r.old != nil {
			if r.old.Running() {
				drains = append(drains, rt.drain(r.name, "leaves the route before it stops")...)
				stops = append(stops, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: r.name, Cause: fmt.Sprintf("replaced by release %d (%s)", release, order)})
			}
			renames = append(renames, strategies.Step{Action: strategies.ActionRename, Service: svc.Name, Container: r.name, NewName: r.name + strategies.SuffixOld, Cause: "kept stopped until confirm, for rollback"})
			*confirm = append(*confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: r.name + strategies.SuffixOld, Cause: fmt.Sprintf("replaced by release %d", release)})
		}
		renames = append(renames, strategies.Step{Action: strategies.ActionRename, Service: svc.Name, Container: tmp, NewName: r.name, Cause: "take the compose name"})
		if order == "start-first" {
			cause := fmt.Sprintf("release %d", release)
			if r.old != nil {
				cause += ", next to the old container"
			}
			starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: tmp, Cause: cause})
			waits = append(waits, waitReady(svc, tmp))
			adds = append(adds, rt.add(tmp, "ready: joins the route")...)
		} else {
			starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: r.name, Cause: fmt.Sprintf("release %d", release)})
			waits = append(waits, waitReady(svc, r.name))
			adds = append(adds, rt.add(r.name, "ready: joins the route")...)
		}
	}
	var steps []strategies.Step
	steps = append(steps, creates...)
	if order == "start-first" {
		steps = append(steps, starts...)
		steps = append(steps, waits...)
		steps = append(steps, adds...)
		steps = append(steps, drains...)
		steps = append(steps, stops...)
		steps = append(steps, renames...)
		return steps
	}
	steps = append(steps, drains...)
	steps = append(steps, stops...)
	steps = append(steps, renames...)
	steps = append(steps, starts...)
	steps = append(steps, waits...)
	steps = append(steps, adds...)
	return steps
}

func waitReady(svc strategies.Service, name string) strategies.Step {
	return strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: name, Ready: svc.Ready, Cause: "health gate"}
}
