package deploy

import (
	"context"

	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
)

// storeJournal journals steps on the release record.
type storeJournal struct {
	s       *store.Store
	stack   string
	release int
}

func (j storeJournal) StepStarted(ctx context.Context, s strategies.Step) (int, error) {
	return j.s.AppendStep(ctx, j.stack, j.release, store.Step{Action: string(s.Action), Target: s.Target(), Cause: s.Cause, Status: "started"})
}

func (j storeJournal) StepEnded(ctx context.Context, index int, status string, stepErr error) error {
	return j.s.FinishStep(ctx, j.stack, j.release, index, status, errText(stepErr))
}
