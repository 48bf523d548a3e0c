// Package bluegreen deploys a release as a second copy of the stack's
// colored services, in compose project <stack>-<color>, next to the copy
// that serves. When every new container is ready and the router's own
// probe passes, traffic switches to the new color at once; the old color
// keeps running as a standby until the release is confirmed, so a
// rollback is a switch back, not a redeploy. Shared services (a database
// on a named volume) run once, in project <stack>, and roll in place.
package bluegreen

import (
	"fmt"
	"slices"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rolling"
)

// Name is the strategy's name on the CLI and in x-cutover.
const Name = "bluegreen"

// BlueGreen implements strategies.Strategy.
type BlueGreen struct{}

var _ strategies.Strategy = BlueGreen{}

// Name returns "bluegreen".
func (BlueGreen) Name() string { return Name }

// AwaitsConfirm is true: the old color stays up as a standby until confirm.
func (BlueGreen) AwaitsConfirm() bool { return true }

// Plan deploys want's colored services as color want.Color, switches the
// routes to them and keeps the other color for confirm or rollback.
func (BlueGreen) Plan(current strategies.Snapshot, want strategies.Desired) (*strategies.Plan, error) {
	if want.Color == "" {
		return nil, fmt.Errorf("blue-green: the release has no color")
	}
	colored, shared := split(want)
	if len(colored) == 0 {
		return nil, fmt.Errorf("blue-green: every service of %s is shared; nothing to deploy in two colors (use the rolling strategy)", want.Stack)
	}
	if !slices.ContainsFunc(colored, func(s strategies.Service) bool { _, ok := want.RouteOf(s.Name); return ok }) {
		return nil, fmt.Errorf("blue-green: no service of %s is routed, so there is no traffic to switch: publish a port or add x-cutover.route to the service that takes traffic", want.Stack)
	}
	active := strategies.OtherColor(want.Color)
	if unchanged(current.Colors[active], colored) && current.ActiveColor == active {
		return keep(current, want, shared, active)
	}
	p := &strategies.Plan{Stack: want.Stack, Release: want.Release, Strategy: Name, Color: want.Color, Failure: map[string]strategies.FailurePolicy{}}

	// Shared services roll in place, as the rolling strategy would.
	if err := planShared(p, current, want, shared); err != nil {
		return nil, err
	}
	// Networks of the stack and of the new color, and the named volumes
	// (the shared services', in project <stack>), created with compose's
	// labels before anything mounts them: Docker would otherwise create a
	// volume without labels on first mount, which `down --volumes` (and
	// docker compose) cannot tell belongs to the stack.
	infra := strategies.InfraSteps(current, want)
	p.Steps = append(infra, p.Steps...)

	// A leftover of the idle color (an interrupted deploy) never serves: remove it.
	for _, name := range sortedServices(current.Colors[want.Color]) {
		for _, c := range current.Colors[want.Color][name] {
			p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionRemove, Service: name, Container: c.Name,
				Cause: fmt.Sprintf("leftover of the idle color %s (release %d)", want.Color, c.Release)})
		}
	}
	for i := range want.Routes {
		r := want.Routes[i]
		if isColored(colored, r.Service) {
			p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionEnsureRoute, Service: r.Service, Route: &r, Cause: "entry point of " + r.Service})
		}
	}

	// The new color, in dependency order, each service's replicas at once.
	newNames := map[string][]string{}
	for _, svc := range colored {
		batch := len(p.Steps) + 1
		var creates, starts, waits []strategies.Step
		for n := 1; n <= svc.Replicas; n++ {
			spec := svc.Container(n)
			newNames[svc.Name] = append(newNames[svc.Name], spec.Name)
			creates = append(creates, strategies.Step{Action: strategies.ActionCreate, Service: svc.Name, Spec: &spec, Batch: batch,
				Cause: fmt.Sprintf("release %d in color %s", want.Release, want.Color)})
			starts = append(starts, strategies.Step{Action: strategies.ActionStart, Service: svc.Name, Container: spec.Name, Batch: batch,
				Cause: "next to the serving color"})
			waits = append(waits, strategies.Step{Action: strategies.ActionWaitReady, Service: svc.Name, Container: spec.Name, Batch: batch,
				Ready: svc.Ready, Cause: "health gate: no traffic before it is ready"})
		}
		p.Steps = append(p.Steps, creates...)
		p.Steps = append(p.Steps, starts...)
		p.Steps = append(p.Steps, waits...)
	}

	// Switch: the router's own probe first, then every route at once.
	var switches []strategies.Step
	drains := fmt.Sprintf("; %s drains", active)
	if len(current.Colors[active]) == 0 {
		drains = ""
	}
	for i := range want.Routes {
		r := want.Routes[i]
		names, ok := newNames[r.Service]
		if !ok || len(names) == 0 {
			continue
		}
		p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionCheckTargets, Service: r.Service, Route: &r, Containers: names,
			Cause: "the router sees the new color healthy"})
		if svc, ok := serviceOf(colored, r.Service); ok && svc.Verify != nil {
			p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionVerify, Service: r.Service, Route: &r, Containers: names, Verify: svc.Verify,
				Cause: "x-cutover.verify passes before the switch"})
		}
		switches = append(switches, strategies.Step{Action: strategies.ActionSwitch, Service: r.Service, Route: &r, Containers: names,
			Cause: fmt.Sprintf("traffic to %s (release %d)%s", want.Color, want.Release, drains)})
	}
	p.Steps = append(p.Steps, switches...)

	// Containers of colored services still in the stack's own project (the
	// stack ran with another strategy before) stop once traffic moved.
	for _, svc := range colored {
		for _, c := range current.Containers[svc.Name] {
			if c.Running() {
				p.Steps = append(p.Steps, strategies.Step{Action: strategies.ActionStop, Service: svc.Name, Container: c.Name,
					Cause: fmt.Sprintf("replaced by color %s", want.Color)})
			}
			p.Confirm = append(p.Confirm, strategies.Step{Action: strategies.ActionRemove, Service: svc.Name, Container: c.Name,
				Cause: fmt.Sprintf("replaced by color %s", want.Color)})
		}
	}
	p.Confirm = append(p.Confirm, retire(current, want, active, fmt.Sprintf("standby color of the release before %d", want.Release))...)
	return p, nil
}

// retire stops and removes a color: after scale_down_delay, its
// containers, then its networks.
// retireBatch is the batch of a retired color's stops; no other step of a
// blue-green plan runs next to them with this number.
const retireBatch = 1 << 20

func retire(current strategies.Snapshot, want strategies.Desired, color, cause string) []strategies.Step {
	var stops, removes []strategies.Step
	for _, name := range sortedServices(current.Colors[color]) {
		for _, c := range current.Colors[color][name] {
			if c.Running() {
				// One batch: the color's containers stop together.
				stops = append(stops, strategies.Step{Action: strategies.ActionStop, Service: name, Container: c.Name, Batch: retireBatch, Cause: cause})
			}
			removes = append(removes, strategies.Step{Action: strategies.ActionRemove, Service: name, Container: c.Name, Cause: cause})
		}
	}
	if len(removes) == 0 {
		return nil
	}
	var steps []strategies.Step
	if want.ScaleDownDelay > 0 {
		steps = append(steps, strategies.Step{Action: strategies.ActionSleep, Duration: want.ScaleDownDelay, Cause: "scale_down_delay before the old color stops"})
	}
	steps = append(steps, stops...)
	steps = append(steps, removes...)
	for _, n := range colorNetworks(current, want.Stack, color) {
		steps = append(steps, strategies.Step{Action: strategies.ActionRemoveNetwork, Name: n, Cause: cause})
	}
	return steps
}

// keep is the plan of a release that changes nothing: the serving color
// stays, and its routes are made sure of.
func keep(current strategies.Snapshot, want strategies.Desired, shared []strategies.Service, active string) (*strategies.Plan, error) {
	p := &strategies.Plan{Stack: want.Stack, Release: want.Release, Strategy: Name, Color: active, Failure: map[string]strategies.FailurePolicy{}}
	if err := planShared(p, current, want, shared); err != nil {
		return nil, err
	}
	// The shared services may still be replaced: their volumes must exist
	// with compose's labels first. want.Networks are left out: they include
	// the idle color's, which this plan does not use.
	infra := strategies.InfraSteps(current, strategies.Desired{ExternalNetworks: want.ExternalNetworks,
		Volumes: want.Volumes, ExternalVolumes: want.ExternalVolumes})
	p.Steps = append(infra, p.Steps...)
	for i := range want.Routes {
		r := want.Routes[i]
		r.Network = swapColor(r.Network, want.Color, active)
		var names []string
		for _, c := range current.Colors[active][r.Service] {
			names = append(names, c.Name)
		}
		if len(names) == 0 {
			continue
		}
		p.Steps = append(p.Steps,
			strategies.Step{Action: strategies.ActionEnsureRoute, Service: r.Service, Route: &r, Cause: "entry point of " + r.Service},
			strategies.Step{Action: strategies.ActionSwitch, Service: r.Service, Route: &r, Containers: names, Cause: fmt.Sprintf("%s is up to date and keeps serving", active)})
	}
	return p, nil
}

// planShared rolls the shared services in place with the rolling strategy.
func planShared(p *strategies.Plan, current strategies.Snapshot, want strategies.Desired, shared []strategies.Service) error {
	if len(shared) == 0 {
		return nil
	}
	sub := strategies.Desired{Stack: want.Stack, Release: want.Release, Services: shared}
	for _, r := range want.Routes {
		if containsService(shared, r.Service) {
			sub.Routes = append(sub.Routes, r)
		}
	}
	snap := strategies.Snapshot{Stack: current.Stack, Containers: map[string][]strategies.Observed{}, Networks: current.Networks, Volumes: current.Volumes}
	for _, svc := range shared {
		snap.Containers[svc.Name] = current.Containers[svc.Name]
	}
	sp, err := rolling.Rolling{}.Plan(snap, sub)
	if err != nil {
		return err
	}
	p.Steps = append(p.Steps, sp.Steps...)
	p.Confirm = append(p.Confirm, sp.Confirm...)
	p.Notes = append(p.Notes, sp.Notes...)
	for k, v := range sp.Failure {
		p.Failure[k] = v
	}
	return nil
}

func split(want strategies.Desired) (colored, shared []strategies.Service) {
	for _, svc := range want.Services {
		if svc.Shared {
			shared = append(shared, svc)
		} else {
			colored = append(colored, svc)
		}
	}
	return colored, shared
}

// unchanged reports whether a color runs exactly the wanted colored services.
func unchanged(running map[string][]strategies.Observed, colored []strategies.Service) bool {
	if len(running) == 0 {
		return false
	}
	for _, svc := range colored {
		cs := running[svc.Name]
		if len(cs) != svc.Replicas {
			return false
		}
		for _, c := range cs {
			if c.Hash != svc.Hash || !c.Running() {
				return false
			}
		}
	}
	for name := range running {
		if !containsService(colored, name) {
			return false
		}
	}
	return true
}

func isColored(colored []strategies.Service, name string) bool { return containsService(colored, name) }

func serviceOf(svcs []strategies.Service, name string) (strategies.Service, bool) {
	for _, s := range svcs {
		if s.Name == name {
			return s, true
		}
	}
	return strategies.Service{}, false
}

func containsService(svcs []strategies.Service, name string) bool {
	return slices.ContainsFunc(svcs, func(s strategies.Service) bool { return s.Name == name })
}

func sortedServices(m map[string][]strategies.Observed) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
