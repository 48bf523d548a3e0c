package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// SocketName is the API socket's file name in the state dir.
const SocketName = "cutover.sock"

// maxSocketPath is the longest path a unix socket may have (sun_path).
const maxSocketPath = 104

// ErrAlreadyRunning: another daemon serves the state dir.
var ErrAlreadyRunning = errors.New("a cutover daemon already runs")

// SocketPath is the API socket of the daemon serving stateDir.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// Answers reports whether a daemon accepts connections on the unix socket
// at path within timeout.
func Answers(ctx context.Context, path string, timeout time.Duration) bool {
	ok, _ := Probe(ctx, path, timeout)
	return ok
}

// Probe is Answers for clients: it tells "no daemon" (no socket file, or
// nothing listening on it) apart from a socket this process may not use
// (permission denied), which is an error.
func Probe(ctx context.Context, path string, timeout time.Duration) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("daemon socket %s: %w", path, err)
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "unix", path)
	switch {
	case err == nil:
		conn.Close()
		return true, nil
	case errors.Is(err, os.ErrPermission):
		return false, fmt.Errorf("daemon socket %s: %w (it belongs to another user's daemon)", path, err)
	}
	return false, nil
}

// listenUnix binds the API socket at path with mode 0600. A socket file
// nothing answers on is a leftover of a daemon that died, and is removed;
// one a daemon answers on is an error. The socket is bound under a
// temporary name, restricted, then renamed into place, so it is never
// reachable with wider permissions.
func listenUnix(ctx context.Context, path string) (*net.UnixListener, error) {
	if len(path) >= maxSocketPath {
		return nil, fmt.Errorf("socket path %s is too long for a unix socket (%d bytes, at most %d): use a shorter state dir", path, len(path), maxSocketPath-1)
	}
	if Answers(ctx, path, time.Second) {
		return nil, fmt.Errorf("%w on %s", ErrAlreadyRunning, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale socket %s: %w", path, err)
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	_ = os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(false) // removed by the daemon, under its final name
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("restricting %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("placing socket %s: %w", path, err)
	}
	return l, nil
}
