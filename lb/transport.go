package lb

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transport tuning for the connections from the proxy to its targets.
const (
	dialTimeout         = 2 * time.Second
	tcpKeepAlive        = 30 * time.Second
	maxIdleConnsPerHost = 256
	idleConnTimeout     = 90 * time.Second
	expectContinue      = time.Second
	transportBufferSize = 16 << 10
)

// dialError marks a failure to connect to a target: the request was never
// sent, so it is safe to try another target whatever its method.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// connSet tracks the connections a transport dialed, so that a drained
// target's connections can all be closed at once: once nothing is in
// flight, every one of them is idle or about to become idle, and
// http.Transport.CloseIdleConnections alone would miss the latter.
type connSet struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

// dial connects to addr and tracks the connection until it closes.
func (s *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, &dialError{err: net.ErrClosed}
	}
	if s.conns == nil {
		s.conns = make(map[*trackedConn]struct{})
	}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every tracked connection and refuses new ones.
func (s *connSet) closeAll() {
	s.mu.Lock()
	conns := s.conns
	s.conns, s.closed = nil, true
	s.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

func (s *connSet) forget(c *trackedConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.set.forget(c) })
	return c.Conn.Close()
}

// newTransport returns the transport for one target's requests: HTTP/1.1
// with many idle keep-alive connections (Go's default keeps two per host),
// no transparent compression (bodies pass through as the target sent them)
// and no response timeout (slow responses and streams are the target's
// business).
func newTransport(conns *connSet) *http.Transport {
	return &http.Transport{
		DialContext:           conns.dial,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       idleConnTimeout,
		ExpectContinueTimeout: expectContinue,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       transportBufferSize,
		ReadBufferSize:        transportBufferSize,
	}
}

// newProbeTransport returns the transport of one target's health probes:
// one keep-alive connection, so probing every few milliseconds does not
// churn sockets. A target that stops listening closes it, and the next
// probe's dial then fails.
func newProbeTransport() *http.Transport {
	d := net.Dialer{Timeout: dialTimeout}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     idleConnTimeout,
		DisableCompression:  true,
	}
}
