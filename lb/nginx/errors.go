package nginx

import "errors"

// Errors of a switch that nginx did not take, wrapped with the route, the
// file and nginx's own words; check them with errors.Is. In each case the
// previous file is back in place and nginx serves what it served before.
var (
	// ErrRejected: the test command (nginx -t) refused the configuration.
	ErrRejected = errors.New("nginx rejected the configuration")
	// ErrReload: the reload command failed (nginx not running, no
	// permission to signal it …).
	ErrReload = errors.New("nginx reload failed")
	// ErrVerify: after the reload, probes through nginx never got an answer
	// from the new configuration within the verify timeout.
	ErrVerify = errors.New("nginx did not serve the new configuration")
)
