package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cutover/cutover/strategies"
)

// ActionKeepOld holds back the stop of the targets a DNS switch moved
// traffic from: resolvers and clients cache answers (browsers about a
// minute, whatever the TTL), so those targets keep serving for the
// router's keep-old window after the switch. The deployer adds it before
// the steps that stop them: first among a blue-green release's confirm
// steps, and before the retired color stops on rollback. Container names
// the route; Duration is the window; Name, when set, is the end of the
// window (RFC 3339), for a step that runs in a later run than the switch
// (confirm); without it the step waits for the window of this run's own
// switch.
const ActionKeepOld strategies.Action = "keep-old"

// keptOld is a switch whose leaving targets must keep serving until until.
type keptOld struct {
	until   time.Time
	window  time.Duration
	leaving []string
}

// keepOlder is a router with a keep-old window per route (the mux: dns
// routes have one, routers that drain have none).
type keepOlder interface {
	KeepOld(ctx context.Context, route string, floor time.Duration) time.Duration
}

// noteSwitch records a switch of r from prev to next when the router keeps
// old targets serving after it: the keep-old steps of this run and of the
// release's confirm wait for its window.
func (x *Executor) noteSwitch(ctx context.Context, r *strategies.Route, prev, next []string) {
	ko, ok := x.Router.(keepOlder)
	if !ok {
		return
	}
	var leaving []string
	for _, a := range prev {
		if !slices.Contains(next, a) {
			leaving = append(leaving, a)
		}
	}
	if len(leaving) == 0 {
		return
	}
	window := ko.KeepOld(ctx, r.Route.Name, r.KeepOld)
	if window <= 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.kept == nil {
		x.kept = map[string]keptOld{}
	}
	x.kept[r.Route.Name] = keptOld{until: x.now().Add(window), window: window, leaving: leaving}
}

// keepOldSteps returns steps with a keep-old step per route this run
// switched with a keep-old window in front, each carrying the end of its
// window: for confirm steps that run later, maybe in another process.
// Steps that stop or remove nothing need none.
func (x *Executor) keepOldSteps(steps []strategies.Step) []strategies.Step {
	if !slices.ContainsFunc(steps, stopsSomething) {
		return steps
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []strategies.Step
	for _, route := range slices.Sorted(maps.Keys(x.kept)) {
		k := x.kept[route]
		out = append(out, strategies.Step{Action: ActionKeepOld, Container: route, Duration: k.window, Name: k.until.UTC().Format(time.RFC3339Nano),
			Cause: fmt.Sprintf("dns answers are cached: %v keep serving %s after the switch", k.leaving, k.window)})
	}
	return append(out, steps...)
}

func stopsSomething(s strategies.Step) bool {
	return s.Action == strategies.ActionStop || s.Action == strategies.ActionRemove
}

// keepOld waits until the end of the step's keep-old window.
func (x *Executor) keepOld(ctx context.Context, s strategies.Step) error {
	var until time.Time
	window := s.Duration
	if s.Name != "" {
		t, err := time.Parse(time.RFC3339Nano, s.Name)
		if err != nil {
			return fmt.Errorf("keep-old window of route %s: end %q: %w", s.Container, s.Name, err)
		}
		until = t
	} else {
		x.mu.Lock()
		k, ok := x.kept[s.Container]
		x.mu.Unlock()
		if !ok {
			return nil // this run switched nothing away on the route
		}
		until, window = k.until, k.window
	}
	wait := until.Sub(x.now())
	if wait <= 0 {
		return nil
	}
	x.info(fmt.Sprintf("keep-old window: route %s was switched by dns; the targets it left keep serving until %s (%s after the switch: resolvers and clients cache answers), then they stop",
		s.Container, until.Local().Format(time.TimeOnly), window))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("keep-old window of route %s cut short: the old targets were not stopped: %w", s.Container, ctx.Err())
	case <-t.C:
		return nil
	}
}

// deferRetireForKeepOld moves the stops at the end of a blue-green
// rollback plan (the color rolled back from) to the front of its confirm
// steps, behind a keep-old step per dns route it switches: clients may
// have resolved that color since the release switched to it, so it keeps
// serving for the window after the switch back. Stops left in the plan's
// steps would be undone with the whole rollback if the wait were cut
// short; as confirm steps, they are cleanup.
func deferRetireForKeepOld(plan *strategies.Plan) {
	var routes []string
	for _, s := range plan.Steps {
		if s.Action == strategies.ActionSwitch && s.Route != nil && s.Route.Route.Router == "dns" && !slices.Contains(routes, s.Route.Route.Name) {
			routes = append(routes, s.Route.Route.Name)
		}
	}
	if len(routes) == 0 {
		return
	}
	end := len(plan.Steps)
	for end > 0 && plan.Steps[end-1].Action == strategies.ActionStop {
		end--
	}
	stops := slices.Clone(plan.Steps[end:])
	if len(stops) == 0 && !slices.ContainsFunc(plan.Confirm, stopsSomething) {
		return
	}
	var head []strategies.Step
	for _, r := range routes {
		head = append(head, strategies.Step{Action: ActionKeepOld, Container: r,
			Cause: "dns answers are cached: the color rolled back from keeps serving for the keep-old window after the switch back"})
	}
	plan.Steps = plan.Steps[:end]
	plan.Confirm = append(append(head, stops...), plan.Confirm...)
}
