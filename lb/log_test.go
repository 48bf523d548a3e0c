package lb

import (
	"context"
	"github.com/cutover/cutover/internal/syncbuf"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer = syncbuf.Buffer

// Closing a listener on purpose (RemoveRoute, moving a route, Close) is not
// a failure, and must not be logged as one.
func TestProxy_NoErrorLoggedOnRemoveOrClose(t *testing.T) {
	var logs syncBuffer
	p := NewProxy(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	b := newBackend(t, "a")
	c := newClient(t, true)
	for _, name := range []string{"one/web", "two/web", "three/web"} {
		if err := p.EnsureRoute(t.Context(), Route{Name: name, Listen: deadAddr(t)}); err != nil {
			t.Fatal(err)
		}
		setTargets(t, p, name, b.addr())
		addr, _ := p.Addr(name)
		if code, _, err := get(c, "http://"+addr); err != nil || code != http.StatusOK {
			t.Fatalf("GET through %s: %d %v", name, code, err)
		}
	}
	if err := p.RemoveRoute(t.Context(), "one/web"); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureRoute(t.Context(), Route{Name: "two/web", Listen: deadAddr(t)}); err != nil {
		t.Fatal(err) // moves: its old listener closes
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, "route removed") {
		t.Fatalf("the log was not captured:\n%s", out)
	}
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("logged an error on RemoveRoute/Close: %s", line)
		}
	}
}
