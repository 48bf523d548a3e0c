package deploy

import (
	"errors"
)

// Sentinel errors callers map to exit codes.
var (
	// ErrBadInput: the request is wrong (unknown service, strategy …);
	// nothing was changed.
	ErrBadInput = errors.New("bad input")
	// ErrDeployFailed: the release failed and was undone; the previous
	// release keeps serving.
	ErrDeployFailed = errors.New("deploy failed")
	// ErrAborted: the deploy was cancelled and undone.
	ErrAborted = errors.New("deploy aborted")
	// ErrNoRouter: the plan needs the daemon's router and no daemon runs;
	// nothing was changed.
	ErrNoRouter = errors.New("no router")
)

// badInput wraps a message as ErrBadInput.
type badInput struct{ msg string }

func (e badInput) Error() string        { return e.msg }
func (e badInput) Is(target error) bool { return target == ErrBadInput }

// BadInput returns an error that errors.Is(err, ErrBadInput).
func BadInput(msg string) error { return badInput{msg: msg} }
