package deploy

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bluegreen"
	"github.com/cutover/cutover/strategies/rolling"
)

// rollbackPlan plans going back from waiting to prev with waiting's
// strategy: a blue-green release switches back to its standby color; the
// others restart the previous release's stopped containers.
func (d *Deployer) rollbackPlan(ctx context.Context, st *compose.Stack, prev, waiting store.Release, images map[string]compose.ResolvedImage, o Overrides) (*strategies.Plan, error) {
	opts := compose.DesiredOptions{Router: routerFor(st, waiting.Strategy, prev.Color), Color: prev.Color}
	want, err := st.DesiredWith(prev.Number, images, opts)
	if err != nil {
		return nil, fmt.Errorf("previous release %d: %w", prev.Number, err)
	}
	o.apply(&want)
	snap, err := d.observe(ctx, st.Name)
	if err != nil {
		return nil, err
	}
	var plan *strategies.Plan
	if colored(waiting.Strategy) {
		plan, err = bluegreen.RollbackPlan(snap, want, waiting.Number, waiting.Color)
		if err == nil {
			deferRetireForKeepOld(plan)
		}
	} else {
		plan, err = rolling.RollbackPlan(snap, want, waiting.Number)
	}
	if err != nil {
		return nil, BadInput(err.Error())
	}
	if err := d.checkRouter(st, plan); err != nil {
		return nil, err
	}
	return plan, nil
}
