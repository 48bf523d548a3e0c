//go:build unix

package lb

import (
	"syscall"
	"time"
)

// canWatch: this platform can peek at a socket without consuming it.
const canWatch = true

// peekFunc returns the raw read that tells whether an idle connection is
// still usable: the target has not closed it (a keep-alive timeout, a
// restart) and has sent nothing unasked. It costs one non-blocking
// recv(MSG_PEEK) and saves sending a request into a dead connection.
func (c *backendConn) peekFunc() func(fd uintptr) bool {
	var b [1]byte
	return func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: open and silent. 0 bytes: closed. Data: unasked.
		c.peekAlive = err == syscall.EAGAIN
		return true
	}
}

// alive reports whether the idle connection c may carry a request. One
// idle for less than peekAfter is taken as open (no target closes idle
// keep-alive connections that fast), which saves a very busy proxy a
// system call per request.
func (c *backendConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.peek == nil || time.Since(c.idleSince) < peekAfter {
		return true
	}
	if err := c.raw.Read(c.peek); err != nil {
		return false
	}
	return c.peekAlive
}

// awaitReadable blocks until raw has something to read or is closed (or
// its read deadline passes: err), and reports whether the peer closed it
// or reset it (gone) rather than sending data.
func awaitReadable(raw syscall.RawConn) (gone bool, err error) {
	var b [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, perr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if perr == syscall.EAGAIN || perr == syscall.EINTR {
			return false // nothing yet: wait for readability
		}
		gone = perr != nil || n == 0
		return true
	})
	return gone, err
}
