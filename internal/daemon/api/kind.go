package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// Kind classifies an error the way the CLI's exit codes do, so a command
// run through the daemon exits with the code it would have in-process.
type Kind string

// Error kinds and the exit codes they stand for.
const (
	KindBadInput     Kind = "bad_input"    // 2: bad flags, compose file or request; nothing changed
	KindConflict     Kind = "conflict"     // 3: another deploy holds the stack's lock
	KindFailed       Kind = "failed"       // 1: the release failed or was aborted and undone
	KindEnv          Kind = "env"          // 4: the Docker engine, the state dir or the daemon is unusable
	KindUnauthorized Kind = "unauthorized" // 4: missing or wrong bearer token
	KindInternal     Kind = "error"        // 1: anything else
)

// ErrEnv marks an unusable environment: the Docker engine, the state dir
// or the daemon.
var ErrEnv = errors.New("environment unusable")

type envError struct{ err error }

func (e envError) Error() string   { return e.err.Error() }
func (e envError) Unwrap() []error { return []error{e.err, ErrEnv} }

// EnvError marks err as ErrEnv without changing its message.
func EnvError(err error) error {
	if err == nil {
		return nil
	}
	return envError{err: err}
}

// KindOf classifies err. It mirrors cli.ExitCode.
func KindOf(err error) Kind {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, deploy.ErrBadInput), errors.Is(err, deploy.ErrNothingToDo):
		return KindBadInput
	case errors.Is(err, store.ErrStackLocked):
		return KindConflict
	case errors.Is(err, deploy.ErrDeployFailed), errors.Is(err, deploy.ErrAborted), errors.Is(err, deploy.ErrPaused), errors.Is(err, context.Canceled):
		return KindFailed
	case errors.Is(err, ErrEnv), errors.Is(err, deploy.ErrNoRouter):
		return KindEnv
	}
	return KindInternal
}

// ErrorOf describes err for the wire.
func ErrorOf(err error) Error {
	e := Error{Message: err.Error(), Kind: KindOf(err)}
	var locked *store.LockedError
	if errors.As(err, &locked) {
		l := locked.Lock
		l.Token = "" // the holder's secret: only it may release the lock
		e.Lock, e.Stale = &l, locked.Stale
	}
	return e
}

// ExitCode is the CLI exit code of the kind.
func (k Kind) ExitCode() int {
	switch k {
	case "":
		return 0
	case KindBadInput:
		return 2
	case KindConflict:
		return 3
	case KindEnv, KindUnauthorized:
		return 4
	}
	return 1
}

// HTTPStatus is the status a non-streaming response of the kind gets.
func (k Kind) HTTPStatus() int {
	switch k {
	case KindBadInput:
		return http.StatusBadRequest
	case KindConflict:
		return http.StatusConflict
	case KindEnv:
		return http.StatusServiceUnavailable
	case KindUnauthorized:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}
