package store

import (
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors, wrapped with %w by the store.
var (
	ErrStackNotFound   = errors.New("stack not found")
	ErrReleaseNotFound = errors.New("release not found")
	// ErrStackLocked means another deploy holds the stack's lock.
	ErrStackLocked = errors.New("stack is locked")
)

// Status is a release's place in its lifecycle:
// pending → deploying → awaiting-confirm → active, with failed, rolled-back,
// aborted and superseded as ends.
type Status string

const (
	StatusPending         Status = "pending"
	StatusDeploying       Status = "deploying"
	StatusAwaitingConfirm Status = "awaiting-confirm"
	StatusActive          Status = "active"
	StatusFailed          Status = "failed"
	StatusRolledBack      Status = "rolled-back"
	StatusAborted         Status = "aborted"
	StatusSuperseded      Status = "superseded"
)

// Describe says in words what a status means.
func (s Status) Describe() string {
	switch s {
	case StatusPending:
		return "recorded, not started"
	case StatusDeploying:
		return "being deployed"
	case StatusAwaitingConfirm:
		return "deployed, waiting for confirm or rollback"
	case StatusActive:
		return "serving"
	case StatusFailed:
		return "failed; the previous release kept serving"
	case StatusRolledBack:
		return "rolled back"
	case StatusAborted:
		return "aborted while deploying"
	case StatusSuperseded:
		return "replaced by a later release"
	}
	return string(s)
}

// InProgress reports whether a release in this status still holds work open.
func (s Status) InProgress() bool {
	return s == StatusPending || s == StatusDeploying || s == StatusAwaitingConfirm
}

// Stack is what the store knows about one stack.
type Stack struct {
	Name        string    `json:"name"`
	WorkingDir  string    `json:"working_dir,omitempty"`
	ConfigFiles []string  `json:"config_files,omitempty"`
	Strategy    string    `json:"strategy,omitempty"`
	LastRelease int       `json:"last_release"`
	Down        bool      `json:"down,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Release is one numbered revision of a stack.
type Release struct {
	Stack    string `json:"stack"`
	Number   int    `json:"number"`
	Status   Status `json:"status"`
	Strategy string `json:"strategy"`
	// Trigger says who or what started the release: "cli", "webhook:dockerhub" …
	Trigger string `json:"trigger"`
	// Images maps service name to the image it runs in this release.
	Images map[string]ImageRef `json:"images,omitempty"`
	// Spec is the resolved compose model (JSON) with images pinned.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Color is the color the release's colored services run as
	// (blue-green); "" for other strategies.
	Color string `json:"color,omitempty"`
	// Weight is the share of new requests a canary release's color gets
	// while its steps run, in percent (0 before the first step).
	Weight int `json:"weight,omitempty"`
	// Promoted is set by `cutover promote`: the canary's remaining pauses
	// end at once.
	Promoted bool `json:"promoted,omitempty"`
	// Reason explains a failed, rolled-back or aborted release.
	Reason string `json:"reason,omitempty"`
	// Note is free text, e.g. "no changes".
	Note  string `json:"note,omitempty"`
	Steps []Step `json:"steps,omitempty"`
	// Confirm holds the steps `cutover confirm` runs for a release that
	// awaits confirmation (JSON of the plan's confirm steps).
	Confirm json.RawMessage `json:"confirm,omitempty"`
	// AutoConfirmAt is when a release awaiting confirmation confirms itself.
	AutoConfirmAt time.Time `json:"auto_confirm_at,omitzero"`
	LogFile       string    `json:"log_file,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
}

// ImageRef records the image a service runs.
type ImageRef struct {
	Ref    string `json:"ref"`              // as written or overridden, e.g. myorg/web:1.4
	Digest string `json:"digest,omitempty"` // repo@sha256:…, when known
	ID     string `json:"id,omitempty"`     // local image ID
}

// Pinned returns the digest reference when known, else the reference.
func (r ImageRef) Pinned() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Ref
}

// Step is one journaled plan step.
type Step struct {
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Cause     string    `json:"cause,omitempty"`
	Status    string    `json:"status"` // started, done, failed, undone
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
}

// Lock is held by the one deploy running for a stack.
type Lock struct {
	Stack     string    `json:"stack"`
	Release   int       `json:"release"`
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
	// Token identifies the holder, so only it releases the lock.
	Token string `json:"token"`
}
