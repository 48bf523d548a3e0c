//go:build !unix

package daemon

// lockFile is a no-op where flock does not exist; the socket check still
// refuses a second daemon.
type lockFile struct{}

func lockExclusive(path, socket string) (*lockFile, error) { return &lockFile{}, nil }

func (l *lockFile) release() {}
