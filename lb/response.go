package lb

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// readResponse reads the target's answer to req. Informational answers
// (103 Early Hints …) go to the client as they come; a "100 Continue" does
// not (the proxy answered the client's Expect itself).
func (c *serverConn) readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		code := resp.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if code != http.StatusContinue && req.ProtoAtLeast(1, 1) {
			writeStatusLine(c.bw, resp)
			writeHeaders(c.bw, resp.Header, nil)
			c.bw.WriteString("\r\n")
			if err := c.bw.Flush(); err != nil {
				return nil, &clientError{err}
			}
		}
	}
}

// clientError marks a failure to write to the client.
type clientError struct{ err error }

func (e *clientError) Error() string { return "writing to the client: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

// framing is how a response's body reaches the client.
type framing struct {
	length  int64 // Content-Length to send; -1 when chunked or closed
	chunked bool
	none    bool // no body (HEAD, 1xx, 204, 304)
	// flush sends each piece as it arrives (streams, event streams).
	flush bool
	// keepAlive: the connection carries another request after this one.
	keepAlive bool
}

// responseFraming decides how resp goes to the client of req. closing
// asks for the connection to close after it.
func responseFraming(req *http.Request, resp *http.Response, closing bool) framing {
	f := framing{length: resp.ContentLength, keepAlive: !req.Close && !closing}
	code := resp.StatusCode
	switch {
	case req.Method == http.MethodHead || code/100 == 1 || code == http.StatusNoContent || code == http.StatusNotModified:
		f.none, f.length = true, -1
	case resp.ContentLength >= 0:
	case req.ProtoAtLeast(1, 1):
		f.chunked = true
	default:
		f.keepAlive = false // HTTP/1.0 client: the end of the body is the close
	}
	if !f.none && (resp.ContentLength < 0 || isEventStream(resp.Header)) {
		f.flush = true
	}
	return f
}

func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct[0])
	return mt == "text/event-stream"
}

// writeResponseHead writes resp's status and headers to the client, less
// the hop-by-hop ones, with the framing of f and, when set, a cookie.
func (c *serverConn) writeResponseHead(req *http.Request, resp *http.Response, f framing, setCookie string) {
	w := c.bw
	writeStatusLine(w, resp)
	writeHeaders(w, resp.Header, connectionListed(resp.Header))
	if setCookie != "" {
		writeHeader(w, "Set-Cookie", setCookie)
	}
	switch {
	case f.none:
		// The length of what a HEAD or 304 describes, as the target said.
		if cl := resp.Header["Content-Length"]; len(cl) > 0 && resp.StatusCode != http.StatusNoContent && resp.StatusCode/100 != 1 {
			writeHeader(w, "Content-Length", cl[0])
		}
	case f.chunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
		if len(resp.Trailer) > 0 {
			keys := make([]string, 0, len(resp.Trailer))
			for k := range resp.Trailer {
				if !skipHeader(k, nil) {
					keys = append(keys, k)
				}
			}
			if len(keys) > 0 {
				writeHeader(w, "Trailer", strings.Join(keys, ", "))
			}
		}
	case f.length >= 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(f.length, 10))
		w.WriteString("\r\n")
	}
	switch {
	case !f.keepAlive:
		w.WriteString("Connection: close\r\n")
	case !req.ProtoAtLeast(1, 1):
		w.WriteString("Connection: keep-alive\r\n")
	}
	w.WriteString("\r\n")
}

func writeStatusLine(w *bufio.Writer, resp *http.Response) {
	w.WriteString("HTTP/1.1 ")
	if s := resp.Status; len(s) > 4 && s[3] == ' ' {
		w.WriteString(s)
	} else {
		w.WriteString(strconv.Itoa(resp.StatusCode))
		w.WriteByte(' ')
		w.WriteString(http.StatusText(resp.StatusCode))
	}
	w.WriteString("\r\n")
}

// copyBody copies the response body to the client with the framing of f
// and flushes. A failure to write is a *clientError; any other error is
// the target's.
func (c *serverConn) copyBody(resp *http.Response, f framing) error {
	if f.none {
		return c.flush()
	}
	var dst io.Writer = c.bw
	var cw io.WriteCloser
	if f.chunked {
		cw = httputil.NewChunkedWriter(c.bw)
		dst = cw
	}
	bufp := c.l.env.buffers.get()
	defer c.l.env.buffers.put(bufp)
	buf := *bufp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return &clientError{err}
			}
			if f.flush {
				if err := c.flush(); err != nil {
					return err
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if cw != nil {
		if err := cw.Close(); err != nil {
			return &clientError{err}
		}
		writeHeaders(c.bw, resp.Trailer, nil)
		c.bw.WriteString("\r\n")
	}
	return c.flush()
}

func (c *serverConn) flush() error {
	if err := c.bw.Flush(); err != nil {
		return &clientError{err}
	}
	return nil
}

// replyError answers the client with a short plain-text error. req is nil
// when the request could not be read.
func (c *serverConn) replyError(req *http.Request, code int, msg string, closeConn bool) {
	if req != nil && req.Close {
		closeConn = true
	}
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	w.WriteString(strconv.Itoa(code))
	w.WriteByte(' ')
	w.WriteString(http.StatusText(code))
	w.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(msg)))
	w.WriteString("\r\n")
	if closeConn {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	if req == nil || req.Method != http.MethodHead {
		w.WriteString(msg)
	}
	w.Flush()
}
