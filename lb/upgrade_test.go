package lb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echoUpgrade switches to a line echo protocol on any Upgrade request.
func echoUpgrade(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo " + line)
			brw.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestProxy_UpgradePassThrough(t *testing.T) {
	p, url := newTestProxy(t, Route{})
	backend := echoUpgrade(t)
	setTargets(t, p, "stack/web", backend)

	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		fmt.Fprint(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != "echo "+msg {
			t.Fatalf("echo of %q: %q %v", msg, got, err)
		}
	}
	if ts, _ := targetStatus(p, "stack/web", backend); ts.InFlight != 1 {
		t.Errorf("in flight during the upgraded connection: %d, want 1", ts.InFlight)
	}
	conn.Close()
	eventually(t, "the closed upgraded connection leaves the in-flight count", func() bool {
		ts, _ := targetStatus(p, "stack/web", backend)
		return ts.InFlight == 0
	})
}

func TestProxy_StreamsResponses(t *testing.T) {
	next := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "first")
		w.(http.Flusher).Flush()
		<-next
		fmt.Fprintln(w, "second")
	}))
	t.Cleanup(srv.Close)
	p, url := newTestProxy(t, Route{})
	setTargets(t, p, "stack/web", srv.Listener.Addr().String())

	resp, err := newClient(t, true).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first chunk: %q %v", line, err)
	}
	close(next)
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "second\n" {
		t.Errorf("rest: %q %v", rest, err)
	}
}
