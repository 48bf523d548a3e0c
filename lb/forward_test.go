package lb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoBackend answers with the length and SHA-256 of the body it got and
// a trailer, in a chunked response.
func echoBackend(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Trailer", "X-Sum")
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		w.(http.Flusher).Flush()
		w.Header().Set("X-Sum", "done")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestProxy_RequestBodies(t *testing.T) {
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", echoBackend(t))
	c := newClient(t, true)
	for _, tc := range []struct {
		desc    string
		size    int
		chunked bool
	}{
		{"small", 100, false},
		{"larger than sent inline", 3*inlineBodyMax + 17, false},
		{"chunked", 200 << 10, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			var r io.Reader = bytes.NewReader(body)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length
			}
			req, _ := http.NewRequest(http.MethodPost, url, r)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("%d %x", len(body), sha256.Sum256(body)); string(got) != want {
				t.Errorf("target got %q, want %q", got, want)
			}
			if resp.Trailer.Get("X-Sum") != "done" {
				t.Errorf("trailer: %v", resp.Trailer)
			}
		})
	}
}

// rawExchange writes req on a new connection to the proxy and returns the
// reader of what comes back.
func rawExchange(t *testing.T, url, req string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

func TestProxy_ExpectContinue(t *testing.T) {
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", echoBackend(t))
	conn, br := rawExchange(t, url, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("before the body: %q %v, want 100 Continue", line, err)
	}
	br.ReadString('\n')
	io.WriteString(conn, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	if want := fmt.Sprintf("5 %x", sha256.Sum256([]byte("hello"))); resp.StatusCode != http.StatusOK || string(got) != want {
		t.Errorf("%d %q, want 200 %q", resp.StatusCode, got, want)
	}
}

func TestProxy_HeadHTTP10AndPipelining(t *testing.T) {
	b := newBackend(t, "a")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", b.addr())

	t.Run("HEAD keeps the length and sends no body", func(t *testing.T) {
		_, br := rawExchange(t, url, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		head, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
		if err != nil || head.StatusCode != http.StatusOK || head.ContentLength != 1 {
			t.Fatalf("HEAD: %+v %v, want 200 with Content-Length 1", head, err)
		}
		// The next bytes are the pipelined GET's answer, not a body.
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if body, _ := io.ReadAll(resp.Body); string(body) != "a" {
			t.Errorf("GET after HEAD: %q", body)
		}
	})
	t.Run("HTTP/1.0 client", func(t *testing.T) {
		_, br := rawExchange(t, url, "GET / HTTP/1.0\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "a" || !resp.Close {
			t.Errorf("HTTP/1.0: %d %q close=%v, want 200 a and close", resp.StatusCode, body, resp.Close)
		}
	})
	t.Run("malformed request", func(t *testing.T) {
		_, br := rawExchange(t, url, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("header name with a space: %v %v, want 400", resp, err)
		}
	})
}

// A client that gives up on a long poll ends its request on the target,
// so that the target drains without waiting for the answer.
func TestProxy_ClientLeavingEndsRequest(t *testing.T) {
	a := newBackend(t, "a")
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", a.addr())

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/slow", nil)
		_, _, err := do(newClient(t, true), req)
		done <- err
	}()
	<-a.arrived
	cancel()
	<-done
	eventually(t, "the abandoned request leaves the target", func() bool {
		ts, _ := targetStatus(p, "stack/web", a.addr())
		return ts.InFlight == 0
	})
	if ts, _ := targetStatus(p, "stack/web", a.addr()); ts.LastError != "" {
		t.Errorf("a client leaving counted against the target: %q", ts.LastError)
	}
}

// Targets close idle keep-alive connections after their own timeout; a
// request, even one that cannot be sent twice, must not land on one.
func TestProxy_TargetClosingIdleConnections(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	srv.Config.IdleTimeout = 20 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	p, url := newTestProxy(t, Route{Health: Health{Interval: noProbe}})
	setTargets(t, p, "stack/web", srv.Listener.Addr().String())
	c := newClient(t, true)
	for i := range 4 {
		if code, body, err := post(c, url, "x"); err != nil || code != http.StatusOK {
			t.Fatalf("POST %d: %d %q %v", i, code, body, err)
		}
		time.Sleep(60 * time.Millisecond) // the target closes the proxy's connection
	}
}

// A client that stops in the middle of a large upload ends its request on
// the target, and the target is not blamed.
func TestProxy_ClientAbortingUpload(t *testing.T) {
	p, url := newTestProxy(t, Route{})
	backend := echoBackend(t)
	setTargets(t, p, "stack/web", backend)
	conn, _ := rawExchange(t, url, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	if _, err := conn.Write(bytes.Repeat([]byte("x"), 3*inlineBodyMax)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the upload reaches the target", func() bool {
		ts, _ := targetStatus(p, "stack/web", backend)
		return ts.InFlight == 1
	})
	conn.Close()
	eventually(t, "the abandoned upload leaves the target", func() bool {
		ts, _ := targetStatus(p, "stack/web", backend)
		return ts.InFlight == 0
	})
	if ts, _ := targetStatus(p, "stack/web", backend); ts.LastError != "" {
		t.Errorf("a client leaving counted against the target: %q", ts.LastError)
	}
}
