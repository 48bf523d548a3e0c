//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile holds an exclusive flock on path for the daemon's lifetime, so
// two daemons starting at once on one state dir cannot both run. The
// kernel drops it when the process dies: it is never stale.
type lockFile struct{ f *os.File }

func lockExclusive(path, socket string) (*lockFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w on %s", ErrAlreadyRunning, socket)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &lockFile{f: f}, nil
}

func (l *lockFile) release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
