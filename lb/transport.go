package lb

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Tuning of the connections from the proxy to its targets.
const (
	dialTimeout         = 2 * time.Second
	tcpKeepAlive        = 30 * time.Second
	maxIdleConnsPerHost = 256
	idleConnTimeout     = 90 * time.Second
	backendBufferSize   = 16 << 10
	// peekAfter: a connection idle this long is checked before reuse
	// (see backendConn.alive).
	peekAfter = time.Millisecond
)

// dialError marks a failure to connect to a target: the request was never
// sent, so it is safe to try another target whatever its method.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// backendConn is one HTTP/1.1 keep-alive connection to a target. It is used
// by one request at a time; its buffers live as long as it does.
type backendConn struct {
	net.Conn
	raw  syscall.RawConn // nil when the connection has no file descriptor
	br   *bufio.Reader
	bw   *bufio.Writer
	pool *connPool

	// Per request: bytes written to and read from the socket, so that a
	// failure tells whether the target saw anything or answered anything.
	written, read int64
	reused        bool
	idleSince     time.Time

	peekAlive bool
	peek      func(fd uintptr) bool
	closeOnce sync.Once
}

func (c *backendConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read += int64(n)
	return n, err
}

func (c *backendConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written += int64(n)
	return n, err
}

// Close closes the connection and forgets it; it may be called more than
// once, from any goroutine.
func (c *backendConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.pool.forget(c)
		err = c.Conn.Close()
	})
	return err
}

// connPool holds a target's connections: the idle ones, most recently used
// first, and every open one, so that a drained target's connections can all
// be closed at once (once nothing is in flight, each is idle or about to be).
type connPool struct {
	addr string

	mu     sync.Mutex
	idle   []*backendConn // oldest first
	open   map[*backendConn]struct{}
	sweep  *time.Timer // closes connections idle for idleConnTimeout
	closed bool
}

func newConnPool(addr string) *connPool {
	return &connPool{addr: addr, open: make(map[*backendConn]struct{})}
}

// get returns an idle connection that is still open, or dials a new one.
// A dial failure is a *dialError.
func (p *connPool) get(ctx context.Context) (*backendConn, error) {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if c.alive() {
			c.reused, c.written, c.read = true, 0, 0
			return c, nil
		}
		c.Close()
	}
	return p.dial(ctx)
}

// dial opens a new connection to the target.
func (p *connPool) dial(ctx context.Context) (*backendConn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	c := &backendConn{Conn: nc, pool: p}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.peek = c.peekFunc()
		}
	}
	c.br = bufio.NewReaderSize(c, backendBufferSize)
	c.bw = bufio.NewWriterSize(c, backendBufferSize)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		nc.Close()
		return nil, &dialError{err: net.ErrClosed}
	}
	p.open[c] = struct{}{}
	return c, nil
}

// put makes c available to the next request, or closes it when the pool
// is full or closed.
func (p *connPool) put(c *backendConn) {
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdleConnsPerHost {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	if p.sweep == nil {
		p.sweep = time.AfterFunc(idleConnTimeout, p.expire)
	}
	p.mu.Unlock()
}

// expire closes the connections idle for idleConnTimeout and schedules
// itself for the next one to expire.
func (p *connPool) expire() {
	now := time.Now()
	p.mu.Lock()
	i := 0
	for i < len(p.idle) && now.Sub(p.idle[i].idleSince) >= idleConnTimeout {
		i++
	}
	old := make([]*backendConn, i)
	copy(old, p.idle[:i])
	n := copy(p.idle, p.idle[i:])
	clear(p.idle[n:])
	p.idle = p.idle[:n]
	switch {
	case p.closed || len(p.idle) == 0:
		p.sweep = nil
	default:
		p.sweep.Reset(idleConnTimeout - now.Sub(p.idle[0].idleSince))
	}
	p.mu.Unlock()
	for _, c := range old {
		c.Close()
	}
}

func (p *connPool) forget(c *backendConn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
}

// closeAll closes every connection, idle or busy, and refuses new ones.
func (p *connPool) closeAll() {
	p.mu.Lock()
	conns := make([]*backendConn, 0, len(p.open))
	for c := range p.open {
		conns = append(conns, c)
	}
	p.idle, p.closed = nil, true
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
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
