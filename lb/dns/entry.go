package dns

import (
	"fmt"
	"slices"

	"github.com/cutover/cutover/lb"
)

// TargetCanary is the state Status gives the canary targets of a weighted
// split; the stable ones are lb.TargetActive.
const TargetCanary lb.TargetState = "canary"

// routeEntry is a route and what it answers. It is never modified once
// published: a change makes a new one.
type routeEntry struct {
	route lb.Route // Host canonical
	// split holds the answered targets: Stable alone (Weight 0) after
	// SetTargets, both sets during a canary.
	split          lb.Split
	stable, canary addrSet
}

// newEntry resolves split's targets for r. Only its weight is checked: an
// empty Stable at weight 0 is SetTargets(nil), a route that answers
// nothing; SetSplit checks more (checkSplit).
func newEntry(r lb.Route, split lb.Split) (*routeEntry, error) {
	if split.Weight < 0 || split.Weight > 100 {
		return nil, fmt.Errorf("%w: route %s: canary weight %d: want 0–100", lb.ErrInvalid, r.Name, split.Weight)
	}
	e := &routeEntry{route: r, split: lb.Split{Weight: split.Weight}}
	var err error
	if e.split.Stable, e.stable, err = parseTargets(r.Name, split.Stable); err != nil {
		return nil, err
	}
	if e.split.Canary, e.canary, err = parseTargets(r.Name, split.Canary); err != nil {
		return nil, err
	}
	if e.split.Weight == 0 {
		e.split.Canary, e.canary = nil, addrSet{}
	}
	if e.split.Weight == 100 {
		e.split.Stable, e.stable = nil, addrSet{}
	}
	return e, nil
}

// split reports whether answers are weighted between two sets.
func (e *routeEntry) weighted() bool { return e.split.Weight > 0 && e.split.Weight < 100 }

// targets returns every target that gets answers: the stable ones, then
// the canary ones.
func (e *routeEntry) targets() []string {
	out := slices.Clone(e.split.Stable)
	for _, t := range e.split.Canary {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// served returns the addresses answered, as one set (for messages and
// verification).
func (e *routeEntry) served() addrSet {
	var s addrSet
	for _, a := range e.stable.all() {
		s.add(a)
	}
	for _, a := range e.canary.all() {
		s.add(a)
	}
	return s
}

// status is the route as Status reports it. DNS does not probe active
// targets, so they are listed healthy.
func (e *routeEntry) status() lb.RouteStatus {
	st := lb.RouteStatus{Route: e.route, Targets: []lb.TargetStatus{}}
	for _, t := range e.split.Stable {
		st.Targets = append(st.Targets, lb.TargetStatus{Addr: t, State: lb.TargetActive, Healthy: true})
	}
	state := lb.TargetActive
	if e.weighted() {
		state = TargetCanary
	}
	for _, t := range e.split.Canary {
		st.Targets = append(st.Targets, lb.TargetStatus{Addr: t, State: state, Healthy: true})
	}
	return st
}

// state is the route as Snapshot saves it.
func (e *routeEntry) state() RouteState {
	s := RouteState{Route: e.route, Targets: e.targets()}
	if e.weighted() {
		split := lb.Split{Stable: slices.Clone(e.split.Stable), Canary: slices.Clone(e.split.Canary), Weight: e.split.Weight}
		s.Split = &split
	}
	return s
}

// sortStatus orders route statuses by route name.
func sortStatus(out []lb.RouteStatus) {
	slices.SortFunc(out, func(a, b lb.RouteStatus) int {
		switch {
		case a.Route.Name < b.Route.Name:
			return -1
		case a.Route.Name > b.Route.Name:
			return 1
		}
		return 0
	})
}

// checkSplit reports a split SetSplit cannot apply.
func checkSplit(route string, split lb.Split) error {
	if err := split.Validate(); err != nil {
		return fmt.Errorf("%w: route %s: %v", lb.ErrInvalid, route, err)
	}
	return nil
}
