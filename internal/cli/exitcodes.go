package cli

import (
	"context"
	"errors"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0 // the command did what it was asked
	ExitFailed   = 1 // the release failed or was aborted; the previous release serves
	ExitBadInput = 2 // bad flags, compose file or request; nothing was changed
	ExitConflict = 3 // another deploy holds the stack's lock
	ExitEnv      = 4 // the Docker engine, the state dir or the daemon is unusable
	// ExitDetached: the CLI was interrupted (Ctrl-C) while a daemon ran
	// its operation, which goes on; 130 as for any command ended by SIGINT.
	ExitDetached = 130
)

// errDetached marks a CLI that stopped waiting for the daemon's operation.
var errDetached = errors.New("stopped waiting")

// usageError marks flag and argument mistakes.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// envError marks an unusable environment (engine, state dir).
type envError struct{ err error }

func (e envError) Error() string { return e.err.Error() }
func (e envError) Unwrap() error { return e.err }

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	var u usageError
	var env envError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errDetached):
		return ExitDetached
	case errors.As(err, &u), errors.Is(err, deploy.ErrBadInput), errors.Is(err, deploy.ErrNothingToDo):
		return ExitBadInput
	case errors.Is(err, store.ErrStackLocked):
		return ExitConflict
	case errors.Is(err, deploy.ErrDeployFailed), errors.Is(err, deploy.ErrAborted), errors.Is(err, deploy.ErrPaused), errors.Is(err, context.Canceled):
		return ExitFailed
	case errors.As(err, &env), errors.Is(err, api.ErrEnv), errors.Is(err, deploy.ErrNoRouter):
		return ExitEnv
	}
	return ExitFailed
}
