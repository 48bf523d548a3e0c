package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
)

// serveDocker starts a daemon on the real engine (and the real proxy) on
// a fresh state dir, stopped when the test ends; the CLI run against that
// state dir goes through it.
func serveDocker(t *testing.T, w *dockerWorld) (stateDir string, logs *syncBuffer) {
	t.Helper()
	stateDir = shortTempDir(t)
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	srv, err := daemon.New(daemon.Config{Store: s, Engine: w.eng, Version: "test",
		Logger: slog.New(slog.NewTextHandler(logs, nil))}) // nil Proxy: the real lb.Proxy
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(cli.EnvServer, "")
	ctx, stop := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		stop()
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("daemon Run: %v", err)
		}
	})
	return stateDir, logs
}

// wantViaDaemon fails unless the daemon has answered n requests to path.
func wantViaDaemon(t *testing.T, logs *syncBuffer, path string, n int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("%d requests to %s in the daemon's log", n, path), func() bool {
		return strings.Count(logs.String(), "path="+path+" ") >= n
	})
}

// writeFileIn writes a compose file into a directory of its own.
func (w *dockerWorld) writeFileIn(content string) string {
	w.t.Helper()
	dir := filepath.Join(w.t.TempDir(), w.stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return file
}

// runningNames lists the running containers of compose project p.
func (w *dockerWorld) runningNames(p string) []string {
	w.t.Helper()
	cs, err := w.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: p})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.Running() {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}

// A service of a profile runs when the deploy through the daemon selects
// the profile (--profile or COMPOSE_PROFILES, read by the CLI as docker
// compose does), and rollback --to brings it back from the release record.
func TestDaemonIntegration_ProfilesThroughTheDaemon(t *testing.T) {
	w := newDockerWorld(t)
	stateDir, logs := serveDocker(t, w)
	file := w.writeFileIn(fmt.Sprintf(`services:
  web: {image: %[1]s, stop_grace_period: 1s}
  debug: {image: %[1]s, stop_grace_period: 1s, profiles: [dbg]}
x-cutover: {min_ready: 300ms, health_timeout: 30s}
`, w.good))
	both := []string{w.stack + "-debug-1", w.stack + "-web-1"}

	t.Setenv("COMPOSE_PROFILES", "")
	mustRun(t, stateDir, "deploy", "-f", file, "-p", w.stack, "--profile", "dbg")
	wantViaDaemon(t, logs, "/v1/stacks/"+w.stack+"/deploy", 1)
	if got := w.runningNames(w.stack); !slices.Equal(got, both) {
		t.Fatalf("running after deploy --profile dbg through the daemon = %v, want %v", got, both)
	}

	// A deploy that changes nothing keeps debug: it is not an orphan.
	t.Setenv("COMPOSE_PROFILES", "dbg")
	mustRun(t, stateDir, "deploy", "-f", file, "-p", w.stack)
	wantViaDaemon(t, logs, "/v1/stacks/"+w.stack+"/deploy", 2)
	if got := w.runningNames(w.stack); !slices.Equal(got, both) {
		t.Fatalf("running after deploy with COMPOSE_PROFILES=dbg through the daemon = %v, want %v", got, both)
	}

	// Without the profile, debug goes; rollback --to 1 brings it back.
	t.Setenv("COMPOSE_PROFILES", "")
	mustRun(t, stateDir, "deploy", "-f", file, "-p", w.stack)
	if got := w.runningNames(w.stack); !slices.Equal(got, []string{w.stack + "-web-1"}) {
		t.Fatalf("running after deploy without a profile = %v, want only web", got)
	}
	mustRun(t, stateDir, "rollback", w.stack, "--to", "1")
	wantViaDaemon(t, logs, "/v1/stacks/"+w.stack+"/rollback", 1)
	if got := w.runningNames(w.stack); !slices.Equal(got, both) {
		t.Errorf("running after rollback --to 1 through the daemon = %v, want %v", got, both)
	}
}

// The named volume of a blue-green or canary stack's shared service
// carries docker compose's labels, so down --volumes removes it.
func TestDaemonIntegration_DownRemovesVolumesOfColoredStacks(t *testing.T) {
	w := newDockerWorld(t)
	t.Cleanup(w.removeColors)
	volume := w.stack + "_data"
	t.Cleanup(func() { _ = w.eng.RemoveVolume(context.Background(), volume) }) // also one made without labels
	stateDir, _ := serveDocker(t, w)
	host, port, _ := net.SplitHostPort(loopbackAddr(t))
	file := w.writeFileIn(fmt.Sprintf(`services:
  web:
    image: %[1]s
    stop_grace_period: 1s
    ports: ["%[2]s:%[3]s:8080"]
    x-cutover: {route: {health: /healthz}}
  db: {image: %[1]s, stop_grace_period: 1s, volumes: [data:/data]}
volumes: {data: {}}
x-cutover:
  min_ready: 300ms
  health_timeout: 30s
  canary: {steps: [{weight: 50, pause: 0s}]}
`, w.good, host, port))

	for _, strategy := range []string{"bluegreen", "canary"} {
		mustRun(t, stateDir, "deploy", "-f", file, "-p", w.stack, "--strategy", strategy)
		vols, err := w.eng.ListVolumes(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(vols, func(v engine.Volume) bool { return v.Name == volume })
		if i < 0 {
			t.Fatalf("%s: no volume %s after deploy", strategy, volume)
		}
		if l := vols[i].Labels; l[compose.LabelProject] != w.stack || l[compose.LabelVolume] != "data" {
			t.Errorf("%s: volume %s has labels %v, want %s=%s and %s=data", strategy, volume, l, compose.LabelProject, w.stack, compose.LabelVolume)
		}

		r := mustRun(t, stateDir, "down", w.stack, "--volumes", "-o", "json")
		var down struct {
			Volumes []string `json:"volumes"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &down); err != nil {
			t.Fatalf("down -o json: %v\n%s", err, r.stdout)
		}
		if !slices.Equal(down.Volumes, []string{volume}) {
			t.Errorf("%s: down --volumes removed volumes %v, want [%s]", strategy, down.Volumes, volume)
		}
		vols, err = w.eng.ListVolumes(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(vols, func(v engine.Volume) bool { return v.Name == volume }) {
			t.Errorf("%s: volume %s is left after down --volumes", strategy, volume)
			_ = w.eng.RemoveVolume(context.Background(), volume) // the next strategy starts clean
		}
	}
}
