package lb

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// errBodyCut: the target answered before the request body was sent whole.
var errBodyCut = errors.New("request body not sent whole: the target answered first")

// serve forwards req to one of the route's targets and copies the answer
// back, trying another target when that is safe (see retryable). It keeps
// the client's Host header, appends the client address to X-Forwarded-For
// and sets X-Forwarded-Host and X-Forwarded-Proto (never trusting the
// client's values for those two). Upgrades (WebSocket) pass through;
// responses without a length and event streams are flushed as they
// arrive, others when the buffer fills. It reports whether the connection
// can carry another request.
//
// The request counts as in flight on its target from the pick until its
// response was copied (for an upgrade, until the connection closes).
func (p *pool) serve(c *serverConn, req *http.Request) bool {
	cfg := p.cfg.Load()
	if req.Method == http.MethodConnect {
		c.replyError(req, http.StatusMethodNotAllowed, "CONNECT is not supported by route "+cfg.Name+"\n", true)
		return false
	}
	pref, cookie := p.preference(cfg, p.lb.load(), req)
	out := c.outbound(req)
	var triedBuf [4]*target
	tried := triedBuf[:0]
	var lastErr error
	for {
		t, s := p.lb.acquire(pref, tried)
		if t == nil {
			if lastErr == nil {
				c.replyError(req, http.StatusServiceUnavailable, "no ready targets for route "+cfg.Name+"\n", false)
			} else {
				p.log.Warn("request failed on every target", "method", req.Method, "path", req.URL.Path, "err", lastErr)
				c.replyError(req, http.StatusBadGateway, "bad gateway: no target of route "+cfg.Name+" answered\n", false)
			}
			return c.endRequest(req)
		}
		bc, resp, err := c.roundTrip(t, req, &out)
		if err == nil {
			return c.respond(t, bc, req, resp, &out, stickyCookie(cfg, p.lb.load(), cookie, s))
		}
		t.release()
		var ce *clientError
		if c.watch.gone.Load() || errors.As(err, &ce) {
			return false // the client left: nobody reads an answer
		}
		t.fail(err)
		tried = append(tried, t)
		lastErr = err
		if !retryable(req, &c.body, err) {
			p.log.Warn("request failed", "target", t.addr, "method", req.Method, "path", req.URL.Path, "err", err)
			c.replyError(req, http.StatusBadGateway, "bad gateway: no target of route "+cfg.Name+" answered\n", false)
			return c.endRequest(req)
		}
		p.log.Debug("retrying on another target", "target", t.addr, "method", req.Method, "err", err)
	}
}

// roundTrip sends req to t and reads the response head. A kept-alive
// connection that the target closed as it was reused is replaced by a new
// one once, when the request can be sent again.
func (c *serverConn) roundTrip(t *target, req *http.Request, o *outbound) (*backendConn, *http.Response, error) {
	bc, err := t.conns.get(c.l.env.ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.exchange(bc, req, o, t.addr)
	if err != nil && c.stale(bc, req, err) {
		if bc, err = t.conns.dial(c.l.env.ctx); err != nil {
			return nil, nil, err
		}
		resp, err = c.exchange(bc, req, o, t.addr)
	}
	if err != nil {
		return nil, nil, err
	}
	return bc, resp, nil
}

// stale reports whether err means that bc, a reused connection, was
// closed by the target before it got req, and req can go again: nothing
// of the answer came, nothing of the body was consumed, and either
// nothing was written or req is idempotent without a body.
func (c *serverConn) stale(bc *backendConn, req *http.Request, err error) bool {
	var ce *clientError
	return bc.reused && bc.read == 0 && c.body.n == 0 && !c.watch.gone.Load() && !errors.As(err, &ce) &&
		(bc.written == 0 || (req.ContentLength == 0 && idempotent(req.Method)))
}

// exchange writes req to bc and reads the response head. On error, bc is
// closed.
func (c *serverConn) exchange(bc *backendConn, req *http.Request, o *outbound, addr string) (*http.Response, error) {
	c.backend.Store(bc)
	if c.state.Load() == connClosed {
		bc.Close() // aborted by a shutdown meanwhile
		return nil, &clientError{net.ErrClosed}
	}
	writeRequestHead(bc.bw, req, o, addr)
	var err error
	switch {
	case req.ContentLength == 0:
		err = bc.bw.Flush()
	case c.expectsContinue(req) && !c.sentContinue:
		// The proxy gives the go-ahead itself, as it is about to read.
		c.sentContinue = true
		c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err = c.flush(); err != nil {
			break
		}
		fallthrough
	default:
		err = c.sendBody(bc, req)
	}
	if err == nil {
		if c.bodyDone == nil {
			c.watch.arm(bc)
		}
		var resp *http.Response
		if resp, err = c.readResponse(bc.br, req); err == nil {
			return resp, nil
		}
	}
	c.watch.disarm()
	bc.Close()
	c.backend.Store(nil)
	var ce *clientError
	if berr := c.joinBody(bc); err == nil || errors.As(berr, &ce) {
		err = berr // the client's failure explains the target's
	}
	return nil, err
}

// sendBody sends the request body: a small one at once, others from a
// goroutine that runs while the response is read (joined by joinBody).
func (c *serverConn) sendBody(bc *backendConn, req *http.Request) error {
	if req.ContentLength > 0 && req.ContentLength <= inlineBodyMax {
		bufp := c.l.env.buffers.get()
		defer c.l.env.buffers.put(bufp)
		return writeRequestBody(bc.bw, req, &c.body, *bufp)
	}
	if err := bc.bw.Flush(); err != nil { // the head goes now
		return err
	}
	done := make(chan error, 1)
	c.bodyDone = done
	go func() {
		bufp := c.l.env.buffers.get()
		defer c.l.env.buffers.put(bufp)
		err := writeRequestBody(bc.bw, req, &c.body, *bufp)
		var ce *clientError
		if errors.As(err, &ce) {
			// The client stopped sending: the target would wait for
			// the rest forever. (A failure to write to the target is
			// left to the response read, which may still get its
			// early answer.)
			bc.Close()
		}
		done <- err
	}()
	return nil
}

// joinBody returns the error of the goroutine sending the request body,
// if one runs. One still running (the target answered first) is stopped:
// bc is closed and the client's read interrupted.
func (c *serverConn) joinBody(bc *backendConn) error {
	done := c.bodyDone
	if done == nil {
		return nil
	}
	c.bodyDone = nil
	select {
	case err := <-done:
		return err
	default:
	}
	bc.Close()
	c.nc.SetReadDeadline(aLongTimeAgo())
	err := <-done
	c.nc.SetReadDeadline(time.Time{})
	if err == nil {
		err = errBodyCut
	}
	return err
}

// respond copies the response to the client, then keeps bc for the next
// request when it is reusable. It reports whether the client connection
// can carry another request.
func (c *serverConn) respond(t *target, bc *backendConn, req *http.Request, resp *http.Response, o *outbound, setCookie string) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return c.upgrade(t, bc, req, resp, o)
	}
	f := responseFraming(req, resp, c.l.closing.Load())
	c.writeResponseHead(req, resp, f, setCookie)
	err := c.copyBody(resp, f)
	c.watch.disarm()
	bodyErr := c.joinBody(bc)
	c.backend.Store(nil)
	if err == nil && bodyErr == nil && !resp.Close && !c.watch.gone.Load() {
		t.conns.put(bc)
	} else {
		bc.Close()
	}
	t.release()
	if err != nil {
		var ce *clientError
		if !errors.As(err, &ce) && !c.watch.gone.Load() {
			t.fail(err)
			c.l.log.Debug("response cut short by the target", "target", t.addr, "err", err)
		}
		return false
	}
	if bodyErr != nil || !f.keepAlive {
		return false
	}
	return c.endRequest(req)
}
