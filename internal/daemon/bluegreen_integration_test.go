package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// TestDaemonIntegration_BlueGreenThroughTheCLI is the walk-through
// with the real proxy and engine: deploy blue-green twice through the
// daemon, the route serves the new version, rollback brings the old one
// back at once, confirm leaves only the serving color, and status says
// which color serves and what stands by.
func TestDaemonIntegration_BlueGreenThroughTheCLI(t *testing.T) {
	w := newDockerWorld(t)
	t.Cleanup(func() { w.removeColors() })
	v2 := strings.Replace(w.good, ":v1", ":v2", 1)
	testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: v2, Version: "v2", Healthcheck: true})

	stateDir := shortTempDir(t)
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := daemon.New(daemon.Config{Store: s, Engine: w.eng, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}) // nil Proxy: the real lb.Proxy
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(cli.EnvServer, "")
	ctx, stop := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	t.Cleanup(func() {
		mustRun(t, stateDir, "down", w.stack)
		stop()
		<-ran
	})

	listen := loopbackAddr(t)
	route := "    x-cutover:\n      route: {port: 8080, listen: \"" + listen + "\", health: /healthz}\n"
	f1, f2 := w.compose(w.good, route, "300ms"), w.compose(v2, route, "300ms")
	version := func() string {
		t.Helper()
		resp, err := http.Get("http://" + listen + "/")
		if err != nil {
			t.Fatalf("GET through the route: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}

	mustRun(t, stateDir, "deploy", "-f", f1, "-p", w.stack, "--strategy", "bluegreen")
	if v := version(); v != "v1" {
		t.Fatalf("after release 1 the route serves %q, want v1", v)
	}
	mustRun(t, stateDir, "deploy", "-f", f2, "-p", w.stack, "--strategy", "bluegreen")
	if v := version(); v != "v2" {
		t.Fatalf("after release 2 the route serves %q, want v2", v)
	}
	st := mustRun(t, stateDir, "status", w.stack).stdout
	for _, want := range []string{"release:  2 awaiting-confirm", "color:    green serves", "standby:  blue, release 1, 1/1 running", w.stack + "/web", listen} {
		if !strings.Contains(st, want) {
			t.Errorf("status after release 2 lacks %q:\n%s", want, st)
		}
	}

	start := time.Now()
	mustRun(t, stateDir, "rollback", w.stack)
	took := time.Since(start)
	if v := version(); v != "v1" {
		t.Fatalf("after rollback the route serves %q, want v1", v)
	}
	t.Logf("rollback through the CLI took %s", took)
	st = mustRun(t, stateDir, "status", w.stack).stdout
	if !strings.Contains(st, "color:    blue serves") {
		t.Errorf("status after rollback:\n%s", st)
	}

	mustRun(t, stateDir, "deploy", "-f", f2, "-p", w.stack, "--strategy", "bluegreen")
	mustRun(t, stateDir, "confirm", w.stack)
	if v := version(); v != "v2" {
		t.Fatalf("after confirm the route serves %q, want v2", v)
	}
	colors := map[string]int{}
	for _, project := range []string{compose.ColorProject(w.stack, "blue"), compose.ColorProject(w.stack, "green")} {
		cs, err := w.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: project})
		if err != nil {
			t.Fatal(err)
		}
		colors[project] = len(cs)
	}
	want := map[string]int{compose.ColorProject(w.stack, "blue"): 0, compose.ColorProject(w.stack, "green"): 1}
	if fmt.Sprint(colors) != fmt.Sprint(want) {
		t.Errorf("containers per color after confirm: %v, want %v", colors, want)
	}
	st = mustRun(t, stateDir, "status", w.stack).stdout
	if strings.Contains(st, "standby:") || !strings.Contains(st, "color:    green serves") {
		t.Errorf("status after confirm still shows a standby or the wrong color:\n%s", st)
	}
}

// removeColors removes what a failed test left of the stack's colors.
func (w *dockerWorld) removeColors() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, project := range []string{compose.ColorProject(w.stack, "blue"), compose.ColorProject(w.stack, "green")} {
		by := map[string]string{compose.LabelProject: project}
		if cs, err := w.eng.ListContainers(ctx, by); err == nil {
			for _, c := range cs {
				_ = w.eng.RemoveContainer(ctx, c.Name, true)
			}
		}
		if ns, err := w.eng.ListNetworks(ctx, by); err == nil {
			for _, n := range ns {
				_ = w.eng.RemoveNetwork(ctx, n.Name)
			}
		}
	}
}

// loopbackAddr is a loopback address nothing listens on.
func loopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
