package lb

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// inlineBodyMax is the largest body (with a known length) sent on the
// request's own goroutine. Larger and chunked bodies are sent from a
// goroutine of their own while the response is read, so that a target
// that answers before it read the whole body cannot stall the exchange.
const inlineBodyMax = 64 << 10

// outbound is what the proxy sends for one incoming request, worked out
// once however many targets it tries.
type outbound struct {
	target     string   // request-target in origin form
	xff        string   // X-Forwarded-For with the client appended
	listed     []string // headers the client's Connection header names
	upgrade    string   // the Upgrade the client asks for, if any
	teTrailers bool     // the client accepts trailers
	zeroLength bool     // send "Content-Length: 0" for an empty body
}

func (c *serverConn) outbound(req *http.Request) outbound {
	o := outbound{target: req.RequestURI, xff: c.clientIP}
	if !strings.HasPrefix(o.target, "/") && o.target != "*" {
		o.target = req.URL.RequestURI() // absolute-form
	}
	if prior := req.Header["X-Forwarded-For"]; len(prior) > 0 {
		o.xff = strings.Join(prior, ", ")
		if c.clientIP != "" {
			o.xff += ", " + c.clientIP
		}
	}
	if len(req.Header["Connection"]) > 0 {
		o.listed = connectionListed(req.Header)
		if hasToken(req.Header["Connection"], "upgrade") {
			o.upgrade = req.Header.Get("Upgrade")
		}
	}
	o.teTrailers = hasToken(req.Header["Te"], "trailers")
	if req.ContentLength == 0 {
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			o.zeroLength = true
		default:
			_, o.zeroLength = req.Header["Content-Length"]
		}
	}
	return o
}

// writeRequestHead writes req's head as the target gets it: HTTP/1.1, the
// client's Host (the target's address when the client sent none), its
// headers less the hop-by-hop ones, X-Forwarded-For with the client
// appended, X-Forwarded-Host and X-Forwarded-Proto set by the proxy, and
// framing of its own.
func writeRequestHead(w *bufio.Writer, req *http.Request, o *outbound, addr string) {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(o.target)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	if req.Host != "" {
		w.WriteString(req.Host)
	} else {
		w.WriteString(addr)
	}
	w.WriteString("\r\n")
	for k, vs := range req.Header {
		switch k {
		case "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Expect":
			continue
		}
		if skipHeader(k, o.listed) {
			continue
		}
		for _, v := range vs {
			writeHeader(w, k, v)
		}
	}
	if o.xff != "" {
		writeHeader(w, "X-Forwarded-For", o.xff)
	}
	if req.Host != "" {
		writeHeader(w, "X-Forwarded-Host", req.Host)
	}
	w.WriteString("X-Forwarded-Proto: http\r\n")
	if o.upgrade != "" {
		w.WriteString("Connection: Upgrade\r\n")
		writeHeader(w, "Upgrade", o.upgrade)
	}
	if o.teTrailers {
		w.WriteString("Te: trailers\r\n")
	}
	switch {
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(req.ContentLength, 10))
		w.WriteString("\r\n")
	case req.ContentLength < 0:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case o.zeroLength:
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
}

func writeHeader(w *bufio.Writer, k, v string) {
	w.WriteString(k)
	w.WriteString(": ")
	w.WriteString(v)
	w.WriteString("\r\n")
}

// writeRequestBody copies the request body to w, chunked when its length
// is unknown (with the client's trailers), and flushes.
func writeRequestBody(w *bufio.Writer, req *http.Request, body io.Reader, buf []byte) error {
	if req.ContentLength > 0 {
		if _, err := io.CopyBuffer(onlyWriter{w}, body, buf); err != nil {
			return err
		}
		return w.Flush()
	}
	cw := httputil.NewChunkedWriter(w)
	if _, err := io.CopyBuffer(cw, body, buf); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	writeHeaders(w, req.Trailer, nil)
	w.WriteString("\r\n")
	return w.Flush()
}

// writeHeaders writes h's fields less the hop-by-hop ones and those
// listed (the names its Connection header gives): a response head, the
// headers of an informational answer, the trailers of a chunked body.
func writeHeaders(w *bufio.Writer, h http.Header, listed []string) {
	for k, vs := range h {
		if skipHeader(k, listed) {
			continue
		}
		for _, v := range vs {
			writeHeader(w, k, v)
		}
	}
}

// onlyWriter hides a writer's ReadFrom, so that io.CopyBuffer uses the
// buffer it is given.
type onlyWriter struct{ io.Writer }
