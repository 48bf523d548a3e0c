package lb

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// RoundTrip sends req to one of the route's active targets, trying another
// one when that is safe:
//
//   - the target could not be connected to (the request was never sent):
//     any method, as long as none of its body was read;
//   - any other error before the response headers, for an idempotent method
//     without a body (nothing the target may have done can be doubled).
//
// It tries each active target at most once. The target's in-flight count
// covers the request until its response body is closed.
func (p *pool) RoundTrip(req *http.Request) (*http.Response, error) {
	var body *readCounter
	if req.Body != nil && req.Body != http.NoBody {
		body = &readCounter{rc: req.Body}
	}
	var (
		tried   []*target
		lastErr error
	)
	for {
		t := p.lb.acquire(tried)
		if t == nil {
			if lastErr == nil {
				return nil, errNoTargets
			}
			return nil, lastErr
		}
		resp, err := t.transport.RoundTrip(outbound(req, t.addr, body))
		if err == nil {
			return trackBody(req.Context(), resp, t), nil
		}
		t.release()
		if req.Context().Err() == nil {
			t.fail(err) // not the target's fault when the client left
		}
		tried = append(tried, t)
		lastErr = err
		if !retryable(req, body, err) {
			return nil, err
		}
		p.log.Debug("retrying on another target", "target", t.addr, "method", req.Method, "err", err)
	}
}

// outbound is req addressed to addr, with body (when not nil) as its body.
func outbound(req *http.Request, addr string, body *readCounter) *http.Request {
	out := new(http.Request)
	*out = *req
	u := *req.URL
	u.Host = addr
	out.URL = &u
	if body != nil {
		out.Body = body
	}
	return out
}

// retryable reports whether req may go to another target after err.
func retryable(req *http.Request, body *readCounter, err error) bool {
	if req.Context().Err() != nil {
		return false // the client is gone
	}
	unread := body == nil || body.n.Load() == 0
	var de *dialError
	if errors.As(err, &de) {
		return unread
	}
	return body == nil && idempotent(req.Method)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut,
		http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// readCounter counts the bytes read from a request body, so that a retry
// knows nothing was consumed. Closing it does nothing: the body belongs to
// the incoming request, which the reverse proxy closes.
type readCounter struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (r *readCounter) Read(b []byte) (int, error) {
	n, err := r.rc.Read(b)
	r.n.Add(int64(n))
	return n, err
}

func (r *readCounter) Close() error { return nil }
