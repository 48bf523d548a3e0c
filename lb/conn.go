package lb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Where a client connection stands, for shutdown.
const (
	connNew      int32 = iota // accepted, no request yet
	connIdle                  // waiting for the next request
	connActive                // reading or forwarding a request
	connClosed                // closed, or being closed
	connUpgraded              // handed to an upgrade (WebSocket …)
)

// errHeaderTooLarge: a request head longer than maxHeaderBytes.
var errHeaderTooLarge = errors.New("request header too large")

// serverConn is one client connection. A single goroutine reads each
// request, forwards it and copies the response back, with no hand-off to
// other goroutines on the way: each hand-off is a thread wake-up, and
// those cost more than the rest of the proxy's work.
type serverConn struct {
	l        *listener
	nc       net.Conn
	raw      syscall.RawConn // nil when nc has no file descriptor
	br       *bufio.Reader
	bw       *bufio.Writer
	clientIP string
	accepted time.Time

	state atomic.Int32
	// limit bounds the bytes read from nc while reading a request head;
	// -1 when unbounded.
	limit int64
	// backend is the target connection in use, closed by abort.
	backend atomic.Pointer[backendConn]
	watch   clientWatch

	// Per request.
	body         requestBody
	sentContinue bool
	// bodyDone, when set, reports the end of the goroutine sending the
	// request body (see sendBody).
	bodyDone chan error
}

func newServerConn(l *listener, nc net.Conn) *serverConn {
	c := &serverConn{l: l, nc: nc, accepted: time.Now(), limit: -1}
	if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.clientIP = host
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.watch.init(c)
	return c
}

// Read reads from the client connection within the head limit.
func (c *serverConn) Read(b []byte) (int, error) {
	if c.limit >= 0 {
		if c.limit == 0 {
			return 0, errHeaderTooLarge
		}
		if int64(len(b)) > c.limit {
			b = b[:c.limit]
		}
	}
	n, err := c.nc.Read(b)
	if c.limit >= 0 {
		c.limit -= int64(n)
	}
	return n, err
}

// serve answers the connection's requests until it closes, the client
// asks to close it, or the listener shuts down.
func (c *serverConn) serve() {
	c.br = c.l.env.buffers.getReader(c)
	c.bw = c.l.env.buffers.getWriter(c.nc)
	defer c.finish()
	defer func() {
		if v := recover(); v != nil {
			c.l.log.Error("panic serving a connection", "client", c.clientIP, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	for {
		req, ok := c.next()
		if !ok {
			return
		}
		if !c.handle(req) || c.l.closing.Load() || !c.state.CompareAndSwap(connActive, connIdle) {
			return
		}
	}
}

// next waits for and reads the next request. It answers malformed ones
// itself and then reports false, as it does when the connection ends.
func (c *serverConn) next() (*http.Request, bool) {
	if c.br.Buffered() == 0 {
		c.nc.SetReadDeadline(time.Now().Add(serverIdleTimeout))
		if _, err := c.br.Peek(1); err != nil {
			return nil, false
		}
	}
	s := c.state.Load()
	if (s != connNew && s != connIdle) || !c.state.CompareAndSwap(s, connActive) {
		return nil, false // shutdown closed it
	}
	if buf, _ := c.br.Peek(c.br.Buffered()); !bytes.Contains(buf, []byte("\r\n\r\n")) {
		// The head is still arriving: bound how long it may take.
		c.nc.SetReadDeadline(time.Now().Add(readHeaderTimeout))
	}
	c.limit = maxHeaderBytes + int64(c.br.Size())
	req, err := http.ReadRequest(c.br)
	hitLimit := c.limit == 0
	c.limit = -1
	if err != nil {
		switch {
		case hitLimit || errors.Is(err, errHeaderTooLarge):
			c.replyError(nil, http.StatusRequestHeaderFieldsTooLarge, "request header too large\n", true)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isTimeout(err), errors.Is(err, net.ErrClosed):
			// The client left, or sent nothing in time.
		default:
			c.l.log.Debug("bad request", "client", c.clientIP, "err", err)
			c.replyError(nil, http.StatusBadRequest, "bad request\n", true)
		}
		return nil, false
	}
	if msg, code := checkRequest(req); code != 0 {
		c.replyError(nil, code, msg, true)
		return nil, false
	}
	if req.ContentLength != 0 {
		// Bodies have no time limit: clear the idle or head deadline.
		c.nc.SetReadDeadline(time.Time{})
	}
	c.body.reset(req.Body)
	c.sentContinue = false
	c.watch.gone.Store(false)
	return req, true
}

// checkRequest refuses what Go's HTTP server refuses beyond what
// http.ReadRequest checks, with the status and message to answer. (A
// missing Host header is let through: ReadRequest does not tell it from an
// empty one, which HTTP/1.1 allows; it gets the listener's default route.)
func checkRequest(req *http.Request) (string, int) {
	if req.ProtoMajor != 1 {
		return "unsupported protocol version\n", http.StatusHTTPVersionNotSupported
	}
	if !validHost(req.Host) {
		return "malformed Host header\n", http.StatusBadRequest
	}
	for k := range req.Header {
		// textproto accepts a space before the colon; HTTP does not.
		if strings.IndexByte(k, ' ') >= 0 {
			return "invalid header name\n", http.StatusBadRequest
		}
	}
	return "", 0
}

// handle forwards req to the route serving its host and reports whether
// the connection can carry another request.
func (c *serverConn) handle(req *http.Request) bool {
	p := c.l.routes.Load().lookup(req.Host)
	if p == nil {
		c.replyError(req, http.StatusNotFound, "no route for host "+req.Host+"\n", false)
		return c.endRequest(req)
	}
	return p.serve(c, req)
}

// endRequest makes the connection ready for the next request after an
// answer that did not consume the request body: it reads and discards up
// to maxDiscard of it. It reports false when the connection must close.
func (c *serverConn) endRequest(req *http.Request) bool {
	if req.Close || c.body.eof || req.ContentLength == 0 {
		return !req.Close
	}
	if c.expectsContinue(req) && !c.sentContinue {
		return false // the client waits for our go-ahead: it never sent the body
	}
	const maxDiscard = 256 << 10
	n, err := io.CopyN(io.Discard, &c.body, maxDiscard+1)
	return err == io.EOF && n <= maxDiscard
}

// expectsContinue reports whether the client waits for "100 Continue"
// before it sends the body.
func (c *serverConn) expectsContinue(req *http.Request) bool {
	return req.ProtoAtLeast(1, 1) && req.ContentLength != 0 &&
		hasToken(req.Header["Expect"], "100-continue")
}

// finish closes the connection unless an upgrade took it over.
func (c *serverConn) finish() {
	if c.state.Load() == connUpgraded {
		return
	}
	c.state.Store(connClosed)
	c.l.untrack(c)
	c.watch.disarm() // its timer is stopped whenever it is disarmed
	c.nc.Close()
	c.l.env.buffers.putReader(c.br)
	c.l.env.buffers.putWriter(c.bw)
}

// closeIfIdle closes the connection if it waits for a request (for a
// connection that never sent one, only after newConnGrace) and reports
// whether it is closed.
func (c *serverConn) closeIfIdle(now time.Time) bool {
	s := c.state.Load()
	switch {
	case s == connClosed:
		return true
	case s == connIdle, s == connNew && now.Sub(c.accepted) >= newConnGrace:
		if c.state.CompareAndSwap(s, connClosed) {
			c.nc.Close()
			return true
		}
	}
	return false
}

// abort closes the connection and the target connection its request
// uses, ending whatever it was doing.
func (c *serverConn) abort() {
	for {
		s := c.state.Load()
		if s == connUpgraded {
			return // ends with the proxy
		}
		if c.state.CompareAndSwap(s, connClosed) {
			break
		}
	}
	c.nc.Close()
	if bc := c.backend.Load(); bc != nil {
		bc.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// requestBody is the body of the request being forwarded: it counts what
// was read, so that a retry knows nothing was consumed, and notes the end.
type requestBody struct {
	rc  io.ReadCloser
	n   int64
	eof bool
}

func (b *requestBody) reset(rc io.ReadCloser) { *b = requestBody{rc: rc} }

// Read reads the body; a failure to read it is the client's (a
// *clientError).
func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		err = &clientError{err}
	}
	return n, err
}
