package lb

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync"
)

// newForwarder returns the handler that forwards a route's requests to its
// targets. It keeps the client's Host header, appends the client address to
// X-Forwarded-For and sets X-Forwarded-Host and X-Forwarded-Proto (never
// trusting the client's own values for those two). Upgrades (WebSocket)
// pass through; responses without a length and event streams are flushed
// as they arrive, others when the copy buffer fills.
func newForwarder(p *pool, buffers httputil.BufferPool) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:      rewrite,
		Transport:    p,
		BufferPool:   buffers,
		ErrorLog:     slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ErrorHandler: p.forwardError,
	}
}

// rewrite addresses the outbound request; the target's address is filled
// in per attempt by pool.RoundTrip.
func rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = "target"
	pr.Out.Host = pr.In.Host
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
}

// forwardError answers a request no target served: 503 when the route has
// no active target, else 502.
func (p *pool) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	name := p.name()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch {
	case errors.Is(err, errNoTargets):
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "no ready targets for route %s\n", name)
	case r.Context().Err() != nil:
		// The client went away; nobody reads this.
		w.WriteHeader(http.StatusBadGateway)
	default:
		p.log.Warn("request failed on every target", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "bad gateway: no target of route %s answered\n", name)
	}
}

// bufferPool recycles the reverse proxy's copy buffers.
type bufferPool struct{ pool sync.Pool }

const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		b := make([]byte, copyBufferSize)
		return &b
	}}}
}

func (b *bufferPool) Get() []byte { return *b.pool.Get().(*[]byte) }

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == copyBufferSize {
		b.pool.Put(&buf)
	}
}
