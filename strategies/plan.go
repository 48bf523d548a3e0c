// Package strategies decides how a release replaces the one before it. A
// strategy turns a Snapshot (what runs) and a Desired state (what the
// release wants) into a Plan of steps, each with a cause. Strategies never
// call the engine; one executor runs every plan.
package strategies

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/engine"
)

// Action is what a step does.
type Action string

const (
	ActionEnsureNetwork Action = "ensure-network"
	ActionCheckNetwork  Action = "check-network" // external: must exist
	ActionEnsureVolume  Action = "ensure-volume"
	ActionCheckVolume   Action = "check-volume" // external: must exist
	ActionCreate        Action = "create"
	ActionStart         Action = "start"
	ActionStop          Action = "stop"
	ActionRename        Action = "rename"
	ActionWaitReady     Action = "wait-ready"
	ActionRemove        Action = "remove"
	ActionRemoveNetwork Action = "remove-network"
	ActionRemoveVolume  Action = "remove-volume"
	// ActionSleep waits Duration (the interval between batches).
	ActionSleep Action = "sleep"
	// ActionMonitor watches Containers until each has run Duration since it
	// started, failing if one exits, restarts or turns unhealthy.
	ActionMonitor Action = "monitor"
	// ActionEnsureRoute makes the router serve Route (binds its listener).
	ActionEnsureRoute Action = "ensure-route"
	// ActionRemoveRoute removes Route from the router.
	ActionRemoveRoute Action = "remove-route"
	// ActionCheckTargets waits until the router's own probe passes for
	// Containers on Route, without sending them traffic.
	ActionCheckTargets Action = "check-targets"
	// ActionSwitch makes Containers the only targets of Route, at once;
	// the targets that leave drain.
	ActionSwitch Action = "switch"
	// ActionRouteAdd adds Container to Route's targets (rolling).
	ActionRouteAdd Action = "route-add"
	// ActionRouteDrain takes Container out of Route's targets and waits
	// for its in-flight requests (rolling, before a stop).
	ActionRouteDrain Action = "route-drain"
	// ActionVerify runs a service's x-cutover.verify check on Containers.
	ActionVerify Action = "verify"
	// ActionSplit sends Weight percent of Route's new requests to
	// Containers (the canary) and the rest to the targets that served
	// before (canary).
	ActionSplit Action = "split"
	// ActionPause holds a canary step for Duration (0: until promoted),
	// failing if one of Containers exits or turns unhealthy; `cutover
	// promote` ends it early.
	ActionPause Action = "pause"
)

// Step is one action of a plan.
type Step struct {
	Action  Action
	Service string
	// Container is the container the step acts on (by name).
	Container string
	// NewName is the name a rename gives.
	NewName string
	Spec    *engine.ContainerSpec // create
	Network *engine.NetworkSpec   // ensure-network
	Volume  *engine.VolumeSpec    // ensure-volume
	Name    string                // check-/remove-network, check-/remove-volume
	Ready   ReadyPolicy           // wait-ready
	// StopTimeout overrides the container's stop grace period when set.
	StopTimeout *time.Duration
	// Duration is how long a sleep or monitor step lasts.
	Duration time.Duration `json:",omitempty"`
	// Containers are what a monitor step watches, or a switch or
	// check-targets step routes to.
	Containers []string `json:",omitempty"`
	// Route is what route steps act on.
	Route *Route `json:",omitempty"`
	// Verify is the check a verify step runs.
	Verify *Verify `json:",omitempty"`
	// Weight is a split step's canary share, in percent.
	Weight int `json:",omitempty"`
	// Batch groups steps of one batch: adjacent steps with the same action
	// and the same non-zero Batch may run at the same time.
	Batch int `json:",omitempty"`
	Cause string
}

// Target names what the step acts on.
func (s Step) Target() string {
	switch s.Action {
	case ActionEnsureNetwork:
		return s.Network.Name
	case ActionEnsureVolume:
		return s.Volume.Name
	case ActionCheckNetwork, ActionCheckVolume, ActionRemoveNetwork, ActionRemoveVolume:
		return s.Name
	case ActionCreate:
		return s.Spec.Name
	case ActionRename:
		return s.Container + " → " + s.NewName
	case ActionSleep:
		return s.Duration.String()
	case ActionMonitor:
		return strings.Join(s.Containers, ", ")
	case ActionEnsureRoute, ActionRemoveRoute:
		return s.Route.Route.Name
	case ActionCheckTargets, ActionSwitch, ActionVerify:
		return s.Route.Route.Name + " → " + strings.Join(s.Containers, ", ")
	case ActionSplit:
		return fmt.Sprintf("%s → %d%% to %s", s.Route.Route.Name, s.Weight, strings.Join(s.Containers, ", "))
	case ActionPause:
		if s.Duration == 0 {
			return "until promoted"
		}
		return s.Duration.String()
	case ActionRouteAdd:
		return s.Route.Route.Name + " + " + s.Container
	case ActionRouteDrain:
		return s.Route.Route.Name + " − " + s.Container
	}
	return s.Container
}

// String renders the step as one deterministic line.
func (s Step) String() string {
	line := fmt.Sprintf("%-14s %s", s.Action, s.Target())
	switch s.Action {
	case ActionCreate:
		line += " (image " + s.Spec.Image + ")"
	case ActionWaitReady:
		line += fmt.Sprintf(" (timeout %s, min ready %s", s.Ready.HealthTimeout, s.Ready.MinReady)
		if p := s.Ready.Probe; p != nil {
			line += fmt.Sprintf(", probe :%d%s", p.Port, p.Path)
		}
		line += ")"
	case ActionMonitor:
		line += fmt.Sprintf(" (for %s)", s.Duration)
	case ActionPause:
		line += " (watching " + strings.Join(s.Containers, ", ") + ")"
	case ActionVerify:
		var checks []string
		if s.Verify.Path != "" {
			checks = append(checks, "GET "+s.Verify.Path)
		}
		if s.Verify.Command != "" {
			checks = append(checks, "command "+strconv.Quote(s.Verify.Command))
		}
		line += " (" + strings.Join(checks, ", ") + ")"
	case ActionEnsureRoute:
		r := s.Route.Route
		line += " (listen " + r.Listen
		if r.Host != "" {
			line += ", host " + r.Host
		}
		line += fmt.Sprintf(" → :%d", s.Route.Port)
		if r.Health.Path != "" {
			line += ", health " + r.Health.Path
		}
		line += ")"
	}
	if s.Cause != "" {
		line += ": " + s.Cause
	}
	return line
}

// Plan is the ordered steps that take a stack from its snapshot to a release.
type Plan struct {
	Stack    string
	Release  int
	Strategy string
	// Steps run now. If one fails, the executor undoes the steps done so
	// far in reverse order, so the previous release keeps serving.
	Steps []Step
	// Confirm runs when the release is confirmed: removing what the
	// previous release left behind. Its steps cannot be undone.
	Confirm []Step
	// Failure says, per service, what a failed wait-ready or monitor step
	// does; a service absent here fails the release and undoes it.
	Failure map[string]FailurePolicy `json:",omitempty"`
	// Notes explain choices the strategy made (a fallback to stop-first …).
	Notes []string `json:",omitempty"`
	// Color is the color that serves once the plan ran (blue-green).
	Color string `json:",omitempty"`
}

// FailurePolicy is a service's failure_action and how many failed
// containers it tolerates before applying it.
type FailurePolicy struct {
	Action      string // rollback, pause, continue
	MaxFailures int
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	for _, s := range p.Steps {
		if s.Action != ActionEnsureNetwork && s.Action != ActionEnsureVolume &&
			s.Action != ActionCheckNetwork && s.Action != ActionCheckVolume &&
			s.Action != ActionEnsureRoute && s.Action != ActionSwitch && s.Action != ActionCheckTargets &&
			s.Action != ActionSplit && s.Action != ActionPause {
			return false
		}
	}
	return len(p.Confirm) == 0
}

// String renders the plan deterministically, for --dry-run and golden tests.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan for stack %s, release %d (%s)\n", p.Stack, p.Release, p.Strategy)
	if p.Color != "" {
		fmt.Fprintf(&b, "color: %s\n", p.Color)
	}
	for _, note := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", note)
	}
	n := 0
	for _, s := range p.Steps {
		n++
		fmt.Fprintf(&b, "%3d. %s\n", n, s)
	}
	if len(p.Confirm) > 0 {
		b.WriteString("on confirm:\n")
		for _, s := range p.Confirm {
			n++
			fmt.Fprintf(&b, "%3d. %s\n", n, s)
		}
	}
	if p.Empty() {
		b.WriteString("no changes: every service is up to date\n")
	}
	return b.String()
}

// Strategy plans how a release replaces the running one.
type Strategy interface {
	Name() string
	// Plan must be deterministic for the same inputs.
	Plan(current Snapshot, want Desired) (*Plan, error)
	// AwaitsConfirm reports whether releases of this strategy stop at
	// awaiting-confirm (true) or confirm as soon as they are ready (false).
	AwaitsConfirm() bool
}
