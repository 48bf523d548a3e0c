package api

import "github.com/cutover/cutover/internal/store"

// PathCheck compares running image digests with the registries' (cutover
// check); the answer is a stream whose result carries Check.
const PathCheck = "POST /v1/check"

// CheckRequest asks which running images drifted from their tag in the
// registry: Stack's, or every stack's when empty. With Apply, each stack
// with a drifted service is redeployed (trigger "check"), waiting up to
// LockWait for a deploy in progress.
type CheckRequest struct {
	Stack    string   `json:"stack,omitempty"`
	Apply    bool     `json:"apply,omitempty"`
	LockWait Duration `json:"lock_wait,omitempty"`
}

// Check statuses of a service's image.
const (
	CheckCurrent = "current" // the registry serves the running digest for the tag
	CheckDrifted = "drifted" // the tag now names another digest
	CheckUnknown = "unknown" // cutover cannot tell; Reason says why
)

// CheckReport is what a check found, stack by stack.
type CheckReport struct {
	Stacks []StackCheck `json:"stacks"`
	// Drifted counts the drifted services of every stack.
	Drifted int `json:"drifted"`
}

// StackCheck is one stack's services.
type StackCheck struct {
	Stack string `json:"stack"`
	// Release is the serving release the check compared against.
	Release int `json:"release,omitempty"`
	// Skipped says why the stack was not checked (down, nothing serves).
	Skipped  string         `json:"skipped,omitempty"`
	Services []ServiceCheck `json:"services,omitempty"`
	// Redeploy is the release --apply made of the drifted services, and
	// Error why it failed (or could not start).
	Redeploy *store.Release `json:"redeploy,omitempty"`
	Error    string         `json:"error,omitempty"`
	// Kind classifies Error as for any operation (conflict: another deploy
	// held the stack).
	Kind Kind `json:"kind,omitempty"`
}

// ServiceCheck is one image a service runs.
type ServiceCheck struct {
	Service string `json:"service"`
	// Image is the reference the containers were created from.
	Image string `json:"image"`
	// Containers run it.
	Containers []string `json:"containers"`
	// Watched is set when the service has an x-cutover.watch block (the
	// daemon's periodic check redeploys only those).
	Watched bool `json:"watched,omitempty"`
	// Running is the running image's digest from its repository, and
	// Registry the digest the registry serves for the tag now.
	Running  string `json:"running,omitempty"`
	Registry string `json:"registry,omitempty"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
}
