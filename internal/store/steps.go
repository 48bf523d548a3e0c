package store

import (
	"context"
	"fmt"
)

// Step statuses. An executor appends a step as started before it acts, then
// finishes it as done or failed; undone marks a step reverted by a rollback.
const (
	StepStarted = "started"
	StepDone    = "done"
	StepFailed  = "failed"
	StepUndone  = "undone"
)

// AppendStep adds step to the journal of release n of the stack and returns
// its index, for FinishStep. StartedAt defaults to now and Status to started.
func (s *Store) AppendStep(ctx context.Context, stack string, n int, step Step) (int, error) {
	if step.StartedAt.IsZero() {
		step.StartedAt = s.stamp()
	}
	if step.Status == "" {
		step.Status = StepStarted
	}
	if err := checkStepStatus(step.Status); err != nil {
		return 0, fmt.Errorf("append step: %w", err)
	}
	var index int
	_, err := s.UpdateRelease(ctx, stack, n, func(r *Release) error {
		index = len(r.Steps)
		r.Steps = append(r.Steps, step)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("append step: %w", err)
	}
	return index, nil
}

// FinishStep sets the status (done, failed or undone) and error text of step
// index of release n of the stack, and stamps its EndedAt.
func (s *Store) FinishStep(ctx context.Context, stack string, n, index int, status, errText string) error {
	if err := checkStepStatus(status); err != nil {
		return fmt.Errorf("finish step: %w", err)
	}
	if status == StepStarted {
		return fmt.Errorf("finish step: status %q does not finish a step", status)
	}
	now := s.stamp()
	_, err := s.UpdateRelease(ctx, stack, n, func(r *Release) error {
		if index < 0 || index >= len(r.Steps) {
			return fmt.Errorf("stack %q release %d has no step %d (%d steps)", stack, n, index, len(r.Steps))
		}
		st := &r.Steps[index]
		st.Status = status
		st.Error = errText
		st.EndedAt = now
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish step: %w", err)
	}
	return nil
}

func checkStepStatus(status string) error {
	switch status {
	case StepStarted, StepDone, StepFailed, StepUndone:
		return nil
	}
	return fmt.Errorf("unknown step status %q", status)
}
