// Package api is the wire format of the cutover daemon's HTTP API: the
// requests the CLI (or curl, or CI) sends, the NDJSON lines long
// operations stream back, and the error kinds that map to exit codes.
// docs/daemon.md documents it for users.
package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

// Version is the API's path prefix.
const Version = "v1"

// Paths (Go 1.22 ServeMux patterns). {stack} is the stack name.
const (
	PathHealth   = "GET /v1/health"
	PathStacks   = "GET /v1/stacks"
	PathStack    = "GET /v1/stacks/{stack}"
	PathReleases = "GET /v1/stacks/{stack}/releases"
	PathDeploy   = "POST /v1/stacks/{stack}/deploy"
	PathConfirm  = "POST /v1/stacks/{stack}/confirm"
	PathPromote  = "POST /v1/stacks/{stack}/promote"
	PathRollback = "POST /v1/stacks/{stack}/rollback"
	PathAbort    = "POST /v1/stacks/{stack}/abort"
	PathUnlock   = "POST /v1/stacks/{stack}/unlock"
	PathDown     = "POST /v1/stacks/{stack}/down"
	PathRoutes   = "GET /v1/routes"
)

// Content types.
const (
	ContentJSON   = "application/json"
	ContentNDJSON = "application/x-ndjson"
)

// DeployRequest deploys a stack the client loaded from its compose files:
// Spec is the resolved model (compose.Stack.Spec(nil)), already
// interpolated and with absolute paths, x-cutover blocks included.
type DeployRequest struct {
	WorkingDir  string            `json:"working_dir"`
	ConfigFiles []string          `json:"config_files"`
	Spec        json.RawMessage   `json:"spec"`
	Strategy    string            `json:"strategy,omitempty"`
	Images      map[string]string `json:"images,omitempty"`
	Overrides   Overrides         `json:"overrides,omitzero"`
	DryRun      bool              `json:"dry_run,omitempty"`
	LockWait    Duration          `json:"lock_wait,omitempty"`
	// Trigger says who started the release; the daemon records "api"
	// when it is empty.
	Trigger string `json:"trigger,omitempty"`
}

// RollbackRequest goes back: without To, from the release awaiting
// confirmation; with To, to release To's spec as a new release.
type RollbackRequest struct {
	To        int       `json:"to,omitempty"`
	Strategy  string    `json:"strategy,omitempty"` // with To only
	LockWait  Duration  `json:"lock_wait,omitempty"`
	Overrides Overrides `json:"overrides,omitzero"`
	Trigger   string    `json:"trigger,omitempty"`
}

// AbortRequest stops the stack's deploy in progress; Wait bounds how long
// the daemon waits for it to be undone (default 5m).
type AbortRequest struct {
	Wait Duration `json:"wait,omitempty"`
}

// UnlockRequest clears a stack's lock; Force clears a live holder's too.
type UnlockRequest struct {
	Force bool `json:"force,omitempty"`
}

// DownRequest removes a stack's containers and networks, and with Volumes
// its named volumes.
type DownRequest struct {
	Volumes bool `json:"volumes,omitempty"`
}

// Overrides are the deploy flags that beat compose and x-cutover settings
// (deploy.Overrides on the wire).
type Overrides struct {
	BatchSize      int       `json:"batch_size,omitempty"`
	Interval       *Duration `json:"interval,omitempty"`
	Order          string    `json:"order,omitempty"`
	AllowStopFirst bool      `json:"allow_stop_first,omitempty"`
	HealthTimeout  Duration  `json:"health_timeout,omitempty"`
	Pull           string    `json:"pull,omitempty"`
}

// OverridesOf converts deploy overrides to their wire form.
func OverridesOf(o deploy.Overrides) Overrides {
	w := Overrides{BatchSize: o.BatchSize, Order: o.Order, AllowStopFirst: o.AllowStopFirst,
		HealthTimeout: Duration(o.HealthTimeout), Pull: o.Pull}
	if o.Interval != nil {
		d := Duration(*o.Interval)
		w.Interval = &d
	}
	return w
}

// Deploy converts wire overrides back.
func (w Overrides) Deploy() deploy.Overrides {
	o := deploy.Overrides{BatchSize: w.BatchSize, Order: w.Order, AllowStopFirst: w.AllowStopFirst,
		HealthTimeout: time.Duration(w.HealthTimeout), Pull: w.Pull}
	if w.Interval != nil {
		d := time.Duration(*w.Interval)
		o.Interval = &d
	}
	return o
}

// Duration is a time.Duration written as Go duration text ("90s", "2m");
// it also accepts a number of nanoseconds.
type Duration time.Duration

// MarshalJSON writes d as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads text or nanoseconds.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("duration %s: want text such as \"90s\" or nanoseconds", data)
	}
	*d = Duration(n)
	return nil
}
