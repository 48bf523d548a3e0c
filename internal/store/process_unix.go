//go:build unix

package store

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has the pid. Signal 0 checks
// without signalling: ESRCH means none; EPERM means one we may not signal.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
