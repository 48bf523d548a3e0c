// Package recreate is the simplest strategy: per service, in dependency
// order, stop the old containers and start the new ones. New containers are
// created before anything stops, so a configuration the engine refuses fails
// while the old release still serves; a new container that never gets ready
// is undone and the old one restarted.
package recreate

import (
	"fmt"

	"github.com/cutover/cutover/strategies"
)

// Name is the strategy's name on the CLI and in x-cutover.
const Name = "recreate"

// Recreate implements strategies.Strategy.
type Recreate struct{}

var _ strategies.Strategy = Recreate{}

// Name returns "recreate".
func (Recreate) Name() string { return Name }

// AwaitsConfirm is false: old containers are removed once the new are ready.
func (Recreate) AwaitsConfirm() bool { return false }

// Plan replaces every container whose configuration or image changed.
func (Recreate) Plan(current strategies.Snapshot, want strategies.Desired) (*strategies.Plan, error) {
	p := &strategies.Plan{Stack: want.Stack, Release: want.Release, Strategy: Name}
	p.Steps = append(p.Steps, strategies.LeftoverSteps(current)...)
	p.Steps = append(p.Steps, strategies.InfraSteps(current, want)...)

	for _, svc := range want.Services {
		steps, confirm, err := planService(svc, current.Containers[svc.Name], want.Release)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, steps...)
		p.Confirm = append(p.Confirm, confirm...)
	}
	orphanStops, orphanRemoves := strategies.OrphanSteps(current, want)
	p.Steps = append(p.Steps, orphanStops...)
	p.Confirm = append(p.Confirm, orphanRemoves...)
	return p, nil
}

func planService(svc strategies.Service, observed []strategies.Observed, release int) (steps, confirm []strategies.Step, err error) {
	if svc.FixedName != "" && svc.Replicas > 1 {
		return nil, nil, fmt.Errorf("service %s: container_name %q allows one replica, want %d", svc.Name, svc.FixedName, svc.Replicas)
	}
	byNumber, others := strategies.Canonical(svc, observed)

	var creates, stops, renames, starts, waits []strategies.Step
	for n := 1; n <= svc.Replicas; n++ {
		name := svc.ContainerName(n)
		old, exists := byNumber[n]
		switch {
		case exists && old.Hash == svc.Hash && old.Running():
			continue // up to date
		case exists && old.Hash == svc.Hash:
			starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: name, Cause: "up to date but " + old.State})
			waits = append(waits, waitReady(svc, name))
			continue
		}
		spec := svc.Container(n)
		tmp := name + strategies.SuffixNew
		spec.Name = tmp
		cause := fmt.Sprintf("new replica %d", n)
		if exists {
			cause = strategies.Describe(old, svc)
		}
		creates = append(creates, strategies.Step{Action: strategies.ActionCreate, Service: svc.Name, Spec: &spec, Cause: cause})
		if exists {
			if old.Running() {
				stops = append(stops, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: name, Cause: fmt.Sprintf("replaced by release %d", release)})
			}
			renames = append(renames, strategies.Step{Action: strategies.ActionRename, Service: svc.Name, Container: name, NewName: name + strategies.SuffixOld, Cause: "keep the old container until the new one is ready"})
			confirm = append(confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: name + strategies.SuffixOld, Cause: fmt.Sprintf("replaced by release %d", release)})
		}
		renames = append(renames, strategies.Step{Action: strategies.ActionRename, Service: svc.Name, Container: tmp, NewName: name, Cause: "take the compose name"})
		starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: name, Cause: fmt.Sprintf("release %d", release)})
		waits = append(waits, waitReady(svc, name))
	}
	// Replicas above the wanted count, and containers under foreign names.
	for n, c := range byNumber {
		if n > svc.Replicas {
			others = append(others, c)
		}
	}
	strategies.SortObserved(others)
	for _, c := range others {
		if c.Running() {
			stops = append(stops, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("scaled to %d replicas", svc.Replicas)})
		}
		confirm = append(confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: c.Name, Cause: fmt.Sprintf("scaled to %d replicas", svc.Replicas)})
	}
	steps = append(steps, creates...)
	steps = append(steps, stops...)
	steps = append(steps, renames...)
	steps = append(steps, starts...)
	steps = append(steps, waits...)
	return steps, confirm, nil
}

func waitReady(svc strategies.Service, name string) strategies.Step {
	return strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: name, Ready: svc.Ready, Cause: "health gate"}
}
