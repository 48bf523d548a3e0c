// Package canary deploys a release as a second color, like blue-green, and
// moves traffic to it in weighted steps (Argo Rollouts' canary steps): the
// new color gets a share of new requests, the step holds for its pause
// while the new containers are watched, and after the last step all
// traffic switches. The old color stays as a standby until confirm, so
// abort and rollback at any step send everything back at once.
package canary

import (
	"fmt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bluegreen"
)

// Name is the strategy's name on the CLI and in x-cutover.
const Name = "canary"

// Canary implements strategies.Strategy.
type Canary struct{}

var _ strategies.Strategy = Canary{}

// Name returns "canary".
func (Canary) Name() string { return Name }

// AwaitsConfirm is true: the old color stays up as a standby until confirm.
func (Canary) AwaitsConfirm() bool { return true }

// Plan is the blue-green plan with the canary steps before the switch: for
// each step, every route splits Weight percent to the new color, then the
// release pauses, watching the new containers.
func (Canary) Plan(current strategies.Snapshot, want strategies.Desired) (*strategies.Plan, error) {
	if len(want.Canary) == 0 {
		return nil, fmt.Errorf("canary: x-cutover.canary.steps is empty: give at least one step, e.g. [{weight: 10, pause: 1m}]")
	}
	for i, st := range want.Canary {
		if st.Weight < 1 || st.Weight > 100 {
			return nil, fmt.Errorf("canary: step %d: weight %d: want 1-100", i+1, st.Weight)
		}
		if i > 0 && st.Weight < want.Canary[i-1].Weight {
			return nil, fmt.Errorf("canary: step %d: weight %d is below step %d's %d: weights only grow", i+1, st.Weight, i, want.Canary[i-1].Weight)
		}
	}
	p, err := bluegreen.BlueGreen{}.Plan(current, want)
	if err != nil {
		return nil, fmt.Errorf("canary: %w", err)
	}
	p.Strategy = Name
	first := -1
	for i, s := range p.Steps {
		if s.Action == strategies.ActionSwitch {
			first = i
			break
		}
	}
	if first < 0 {
		return p, nil // nothing changes: the serving color stays
	}
	if len(current.Colors[strategies.OtherColor(want.Color)]) == 0 {
		// The first release in a color: no version serves that a share
		// could be split from, so traffic goes to it at once.
		p.Notes = append(p.Notes, "no color serves yet: nothing to split, so the canary steps are skipped and traffic goes to this release at once")
		return p, nil
	}
	end := first
	for end < len(p.Steps) && p.Steps[end].Action == strategies.ActionSwitch {
		end++
	}
	switches := p.Steps[first:end]
	var watched []string
	for _, sw := range switches {
		watched = append(watched, sw.Containers...)
	}
	steps := append([]strategies.Step{}, p.Steps[:first]...)
	for i, cs := range want.Canary {
		for _, sw := range switches {
			steps = append(steps, strategies.Step{Action: strategies.ActionSplit, Service: sw.Service, Route: sw.Route, Containers: sw.Containers, Weight: cs.Weight,
				Cause: fmt.Sprintf("canary step %d of %d: %d%% of new requests to %s (release %d)", i+1, len(want.Canary), cs.Weight, want.Color, want.Release)})
		}
		cause := fmt.Sprintf("canary step %d of %d holds; cutover promote skips the pause", i+1, len(want.Canary))
		if cs.Pause == 0 {
			cause = fmt.Sprintf("canary step %d of %d holds until cutover promote", i+1, len(want.Canary))
		}
		steps = append(steps, strategies.Step{Action: strategies.ActionPause, Containers: watched, Duration: cs.Pause, Weight: cs.Weight, Cause: cause})
	}
	steps = append(steps, switches...)
	steps = append(steps, p.Steps[end:]...)
	p.Steps = steps
	return p, nil
}
