package bluegreen

import (
	"fmt"
	"strconv"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rolling"
)

// RollbackPlan goes back from release (running as color newColor, awaiting
// confirmation) to the standby color: prev is the previous release's
// desired state in its own color. The standby serves again at once (it was
// never stopped); the release's color stops and is removed; shared
// services the release rolled are rolled back in place.
func RollbackPlan(current strategies.Snapshot, prev strategies.Desired, release int, newColor string) (*strategies.Plan, error) {
	if prev.Color == "" || prev.Color == newColor {
		to := "N"
		if prev.Release > 0 {
			to = strconv.Itoa(prev.Release)
		}
		return nil, fmt.Errorf("release %d replaced a release that did not run in a color of its own: no standby to switch back to; redeploy that one with cutover rollback %s --to %s", release, prev.Stack, to)
	}
	p := &strategies.Plan{Stack: prev.Stack, Release: release, Strategy: "rollback", Color: prev.Color, Failure: map[string]strategies.FailurePolicy{}}
	colored, shared := split(prev)
	standby := current.Colors[prev.Color]
	targets := map[string][]string{}
	for _, svc := range colored {
		cs := standby[svc.Name]
		if len(cs) == 0 {
			return nil, fmt.Errorf("rollback: the standby color %s has no container of service %s left; redeploy with cutover rollback --to", prev.Color, svc.Name)
		}
		for _, c := range cs {
			targets[svc.Name] = append(targets[svc.Name], c.Name)
			if c.Running() {
				continue
			}
			p.Steps = append(p.Steps,
				strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: c.Name, Cause: "standby color was stopped"},
				strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: c.Name, Ready: svc.Ready, Cause: "health gate"})
		}
		p.Failure[svc.Name] = strategies.FailurePolicy{Action: "rollback"}
	}
	var switches []strategies.Step
	for i := range prev.Routes {
		r := prev.Routes[i]
		names := targets[r.Service]
		if len(names) == 0 {
			continue
		}
		p.Steps = append(p.Steps,
			strategies.Step{Action: strategies.ActionEnsureRoute, Service: r.Service, Route: &r, Cause: "entry point of " + r.Service},
			strategies.Step{Action: strategies.ActionCheckTargets, Service: r.Service, Route: &r, Containers: names, Cause: "the router sees the standby healthy"})
		switches = append(switches, strategies.Step{Action: strategies.ActionSwitch, Service: r.Service, Route: &r, Containers: names,
			Cause: fmt.Sprintf("traffic back to %s; %s (release %d) drains", prev.Color, newColor, release)})
	}
	p.Steps = append(p.Steps, switches...)
	if len(shared) > 0 {
		snap := strategies.Snapshot{Stack: current.Stack, Containers: map[string][]strategies.Observed{}, Networks: current.Networks, Volumes: current.Volumes}
		for _, svc := range shared {
			snap.Containers[svc.Name] = current.Containers[svc.Name]
		}
		sp, err := rolling.RollbackPlan(snap, strategies.Desired{Stack: prev.Stack, Release: prev.Release, Services: shared}, release)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, sp.Steps...)
		p.Confirm = append(p.Confirm, sp.Confirm...)
		p.Notes = append(p.Notes, sp.Notes...)
		for k, v := range sp.Failure {
			p.Failure[k] = v
		}
	}
	retired := retire(current, strategies.Desired{Stack: prev.Stack}, newColor, fmt.Sprintf("color of rolled-back release %d", release))
	for _, s := range retired {
		if s.Action == strategies.ActionStop {
			p.Steps = append(p.Steps, s)
		} else {
			p.Confirm = append(p.Confirm, s)
		}
	}
	return p, nil
}
