package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Client-side server limits. There is no WriteTimeout or ReadTimeout: slow
// responses, streams, uploads and WebSockets are the application's to bound.
const (
	readHeaderTimeout = 10 * time.Second
	serverIdleTimeout = 120 * time.Second
	maxHeaderBytes    = 1 << 20
)

// hostTable maps request hosts to routes on one listener. It is never
// modified once published.
type hostTable struct {
	byHost map[string]*pool
	def    *pool // the route with Host "", if any
}

// lookup returns the route serving host (already normalized), or nil.
func (h *hostTable) lookup(host string) *pool {
	if p, ok := h.byHost[host]; ok {
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

// listener is one listen address with its HTTP server, shared by the
// routes on that address.
type listener struct {
	addr   string // as configured: the key in Proxy.listeners
	ln     *onceCloseListener
	srv    *http.Server
	routes atomic.Pointer[hostTable]
	served chan struct{} // closed when Serve returned
}

// listen binds addr and starts serving. Requests carry ctx (cancelled when
// the proxy closes, which also ends upgraded connections).
func listen(ctx context.Context, addr string, log *slog.Logger) (*listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	l := &listener{
		addr:   addr,
		ln:     &onceCloseListener{Listener: ln},
		served: make(chan struct{}),
	}
	l.routes.Store(&hostTable{byHost: map[string]*pool{}})
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       serverIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	log = log.With("listen", addr)
	go func() {
		defer close(l.served)
		if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("listener failed", "err", err)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String())
	return l, nil
}

// ServeHTTP hands the request to the route serving its Host.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := l.routes.Load().lookup(normalHost(r.Host))
	if p == nil {
		http.Error(w, "no route for host "+r.Host, http.StatusNotFound)
		return
	}
	p.handler.ServeHTTP(w, r)
}

// stopAccepting closes the listening socket, so the address can be bound
// again at once; connections already accepted go on until shutdown.
func (l *listener) stopAccepting() { l.ln.Close() }

// shutdown stops accepting and waits for connections to finish their
// current request, until ctx ends.
func (l *listener) shutdown(ctx context.Context) error {
	l.stopAccepting()
	err := l.srv.Shutdown(ctx)
	if err != nil {
		l.srv.Close()
	}
	<-l.served
	if err != nil {
		return fmt.Errorf("closing listener %s: %w", l.addr, err)
	}
	return nil
}

// onceCloseListener tolerates being closed twice (by stopAccepting and by
// http.Server.Shutdown).
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
