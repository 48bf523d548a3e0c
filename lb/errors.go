package lb

import "errors"

// Errors the proxy returns, wrapped with the route or target they concern;
// check them with errors.Is.
var (
	// ErrNoRoute: no route has the given name.
	ErrNoRoute = errors.New("no such route")
	// ErrInvalid: a route or target address is malformed.
	ErrInvalid = errors.New("invalid route")
	// ErrHostTaken: another route on the same listener serves the host.
	ErrHostTaken = errors.New("host already routed on this listener")
	// ErrClosed: the proxy was closed.
	ErrClosed = errors.New("proxy closed")
	// ErrUnhealthy: a target did not pass its health check in time.
	ErrUnhealthy = errors.New("target not healthy")
)
