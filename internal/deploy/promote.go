package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/store"
)

// Promote ends the pauses of the canary release in progress: its current
// step stops holding and the rest run without pausing, up to the switch.
func (d *Deployer) Promote(ctx context.Context, stack string) (store.Release, error) {
	if rec, err := d.Store.GetStack(ctx, stack); err == nil && rec.Down {
		return store.Release{}, BadInput(downMessage(stack, "promote"))
	}
	rel, err := d.Store.LatestRelease(ctx, stack)
	switch {
	case errors.Is(err, store.ErrStackNotFound), errors.Is(err, store.ErrReleaseNotFound):
		return rel, BadInput(fmt.Sprintf("no stack named %q", stack))
	case err != nil:
		return rel, fmt.Errorf("reading releases of %s: %w", stack, err)
	}
	if rel.Strategy != compose.StrategyCanary || (rel.Status != store.StatusDeploying && rel.Status != store.StatusPending) {
		return rel, fmt.Errorf("no canary release of %s is in progress (latest is release %d, %s, %s): %w", stack, rel.Number, rel.Strategy, rel.Status, ErrNothingToDo)
	}
	rel, err = d.Store.UpdateRelease(ctx, stack, rel.Number, func(r *store.Release) error { r.Promoted = true; return nil })
	if err != nil {
		return rel, fmt.Errorf("promoting release %d of %s: %w", rel.Number, stack, err)
	}
	d.emit(Event{Stack: stack, Release: rel.Number, Kind: KindMessage, Status: "info",
		Message: fmt.Sprintf("release %d promoted: the canary's pauses end", rel.Number)})
	return rel, nil
}
