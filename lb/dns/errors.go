package dns

import "errors"

// Errors of the dns router, wrapped with the route, host or server they
// concern; check them with errors.Is. The router also returns the lb
// package's errors where they mean the same: lb.ErrNoRoute, lb.ErrInvalid,
// lb.ErrHostTaken, lb.ErrClosed and lb.ErrUnhealthy.
var (
	// ErrUpdateRefused: the DNS server refused an RFC 2136 update (bad
	// TSIG key or signature, a policy that does not allow it, a zone it is
	// not authoritative for). The record it would have changed is as it was.
	ErrUpdateRefused = errors.New("dns update refused")
	// ErrNotVisible: the server accepted an update but did not answer
	// with the new addresses within the verify timeout.
	ErrNotVisible = errors.New("dns update not visible")
	// ErrSplitUnsupported: the backend cannot weight its answers.
	ErrSplitUnsupported = errors.New("weighted answers not supported")
)
