package api

import (
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// Line is one line of an NDJSON stream: progress events first, then one
// line with the result, after which the daemon closes the stream.
type Line struct {
	Event  *deploy.Event `json:"event,omitempty"`
	Result *Result       `json:"result,omitempty"`
}

// Result is how an operation ended. Which fields are set depends on the
// operation: deploy and rollback --to set Release and the plan; confirm,
// rollback and abort set Release; down sets Down; unlock sets Lock; check
// sets Check. Error
// is set when it failed, and ExitCode is what the CLI exits with.
type Result struct {
	Release store.Release `json:"release,omitzero"`
	DryRun  bool          `json:"dry_run,omitempty"`
	// PlanText is the plan as `deploy --dry-run` prints it.
	PlanText string `json:"plan_text,omitempty"`
	// Plan and Confirm are the plan's steps, one line each.
	Plan     []string           `json:"plan,omitempty"`
	Confirm  []string           `json:"confirm,omitempty"`
	Down     *deploy.DownResult `json:"down,omitempty"`
	Lock     *store.Lock        `json:"lock,omitempty"`
	Check    *CheckReport       `json:"check,omitempty"`
	Error    *Error             `json:"error,omitempty"`
	ExitCode int                `json:"exit_code"`
}

// Error is a failed operation or request.
type Error struct {
	Message string `json:"message"`
	Kind    Kind   `json:"kind"`
	// Lock and Stale say who holds the stack's lock (kind conflict).
	Lock  *store.Lock `json:"lock,omitempty"`
	Stale bool        `json:"stale,omitempty"`
}

// ErrorResponse is the body of a request that failed before any stream
// began, and of a failed non-streaming request.
type ErrorResponse struct {
	Error    Error `json:"error"`
	ExitCode int   `json:"exit_code"`
}

// ResultOf is a deploy's result on the wire.
func ResultOf(res deploy.Result) Result {
	out := Result{Release: res.Release, DryRun: res.DryRun}
	if p := res.Plan; p != nil {
		out.PlanText = p.String()
		for _, s := range p.Steps {
			out.Plan = append(out.Plan, s.String())
		}
		for _, s := range p.Confirm {
			out.Confirm = append(out.Confirm, s.String())
		}
	}
	return out
}

// WithError sets r's error and exit code from err (nil: success).
func (r Result) WithError(err error) Result {
	if err == nil {
		r.Error, r.ExitCode = nil, 0
		return r
	}
	e := ErrorOf(err)
	r.Error, r.ExitCode = &e, e.Kind.ExitCode()
	return r
}
