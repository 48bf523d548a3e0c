//go:build !unix

package lb

import (
	"errors"
	"syscall"
)

// canWatch: this platform cannot peek at a socket without consuming it, so
// the proxy does not watch for clients leaving while they wait.
const canWatch = false

func (c *backendConn) peekFunc() func(fd uintptr) bool { return nil }

// alive reports whether the idle connection c may carry a request; without
// a way to peek at the socket, only unasked buffered bytes tell.
func (c *backendConn) alive() bool { return c.br.Buffered() == 0 }

func awaitReadable(syscall.RawConn) (bool, error) {
	return false, errors.ErrUnsupported
}
