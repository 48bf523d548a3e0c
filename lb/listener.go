package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client-side limits. There is no write timeout and no timeout on reading
// a request's body: slow responses, streams, uploads and WebSockets are the
// application's to bound.
const (
	readHeaderTimeout = 10 * time.Second
	serverIdleTimeout = 120 * time.Second
	maxHeaderBytes    = 1 << 20
	// newConnGrace is how long a shutdown lets a connection that has not
	// sent its first request yet send it (a client sends right after
	// connecting).
	newConnGrace = 5 * time.Second
)

// hostTable maps request hosts to routes on one listener. It is never
// modified once published.
type hostTable struct {
	byHost map[string]*pool
	def    *pool // the route with Host "", if any
}

// lookup returns the route serving a request's Host header, or nil. A
// listener without host routes (the usual one route per port) answers
// without normalizing the header, which costs an allocation per request.
func (h *hostTable) lookup(host string) *pool {
	if len(h.byHost) == 0 {
		return h.def
	}
	if p, ok := h.byHost[normalHost(host)]; ok {
		return p
	}
	return h.def
}

// with returns a copy of h with p serving host, or an error if another
// route already does.
func (h *hostTable) with(host string, p *pool) (*hostTable, error) {
	cur := h.def
	if host != "" {
		cur = h.byHost[host]
	}
	if cur != nil && cur != p {
		return nil, fmt.Errorf("%w: %q is served by route %s", ErrHostTaken, host, cur.name())
	}
	n := h.without(p)
	if host == "" {
		n.def = p
	} else {
		n.byHost[host] = p
	}
	return n, nil
}

// without returns a copy of h without p.
func (h *hostTable) without(p *pool) *hostTable {
	n := &hostTable{byHost: make(map[string]*pool, len(h.byHost)+1)}
	for host, q := range h.byHost {
		if q != p {
			n.byHost[host] = q
		}
	}
	if h.def != p {
		n.def = h.def
	}
	return n
}

func (h *hostTable) empty() bool { return h.def == nil && len(h.byHost) == 0 }

// listener is one listen address with the client connections it accepted,
// shared by the routes on that address.
type listener struct {
	addr   string // as configured: the key in Proxy.listeners
	ln     net.Listener
	env    *serverEnv
	log    *slog.Logger
	routes atomic.Pointer[hostTable]

	// stopped is set before the socket closes, so that the accept loop
	// tells a deliberate close from a failure.
	stopped  atomic.Bool
	stopOnce sync.Once
	// closing is set when shutdown starts: connections finish their
	// current request and close.
	closing atomic.Bool
	served  chan struct{} // closed when the accept loop returned

	mu    sync.Mutex
	conns map[*serverConn]struct{} // not upgraded ones
}

// serverEnv is what every client connection of the proxy shares.
type serverEnv struct {
	// ctx ends when the proxy closes; it ends upgraded connections.
	ctx     context.Context
	buffers *bufferPool
}

// listen binds addr and starts accepting connections.
func listen(env *serverEnv, addr string, log *slog.Logger) (*listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(env.ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	l := &listener{
		addr:   addr,
		ln:     ln,
		env:    env,
		log:    log.With("listen", addr),
		served: make(chan struct{}),
		conns:  make(map[*serverConn]struct{}),
	}
	l.routes.Store(&hostTable{byHost: map[string]*pool{}})
	go l.accept()
	l.log.Info("listening", "addr", ln.Addr().String())
	return l, nil
}

// accept serves each new connection on a goroutine of its own until the
// listener stops. Running out of file descriptors pauses it; only an
// unexpected failure ends it with an error logged.
func (l *listener) accept() {
	defer close(l.served)
	var delay time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.stopped.Load() {
				return // stopAccepting closed the socket: not a failure
			}
			if temporaryAcceptError(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.log.Warn("accepting a connection failed; retrying", "err", err, "retry_in", delay)
				select {
				case <-time.After(delay):
					continue
				case <-l.env.ctx.Done():
					return
				}
			}
			l.log.Error("listener failed", "err", err)
			return
		}
		delay = 0
		c := newServerConn(l, nc)
		if !l.track(c) {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// temporaryAcceptError reports an accept failure worth retrying (out of
// file descriptors, a timeout).
func temporaryAcceptError(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// track adds c to the connections a shutdown waits for; false when the
// listener is already shutting down.
func (l *listener) track(c *serverConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing.Load() {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listener) untrack(c *serverConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// stopAccepting closes the listening socket, so the address can be bound
// again at once; connections already accepted go on until shutdown.
func (l *listener) stopAccepting() {
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		l.ln.Close()
	})
}

// shutdown stops accepting, closes idle connections and waits for the
// others to finish their current request (they close after it), until ctx
// ends; then it closes them all. Upgraded connections are not waited for:
// they end with the proxy.
func (l *listener) shutdown(ctx context.Context) error {
	l.stopAccepting()
	l.mu.Lock()
	l.closing.Store(true)
	l.mu.Unlock()
	<-l.served

	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if l.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			l.closeAll()
			return fmt.Errorf("closing listener %s: %w", l.addr, ctx.Err())
		case <-timer.C:
			wait = min(2*wait, 100*time.Millisecond)
			timer.Reset(wait)
		}
	}
}

// closeIdle closes the connections waiting for a request and reports
// whether none is left.
func (l *listener) closeIdle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for c := range l.conns {
		if c.closeIfIdle(now) {
			delete(l.conns, c)
		}
	}
	return len(l.conns) == 0
}

// closeAll closes every connection, aborting the requests they carry.
func (l *listener) closeAll() {
	l.mu.Lock()
	conns := make([]*serverConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	clear(l.conns)
	l.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
}
