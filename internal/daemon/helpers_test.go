package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/cutover/cutover/internal/syncbuf"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/daemontest"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/internal/store"
)

// testDaemon is a daemon serving a temp state dir in this process.
type testDaemon struct {
	t        *testing.T
	srv      *daemon.Server
	stateDir string
	store    *store.Store
	proxy    daemon.Proxy
	logs     *syncBuffer
	stop     context.CancelFunc
	done     chan error
}

// daemonOptions change what startDaemon starts.
type daemonOptions struct {
	stateDir        string
	engine          *enginetest.Fake // nil: a fake with hello:1 (healthy)
	proxy           daemon.Proxy     // nil: daemontest.NewProxy()
	listen          string
	token           string
	shutdownTimeout time.Duration
}

// startDaemon starts a daemon and stops it when the test ends.
func startDaemon(t *testing.T, o daemonOptions) *testDaemon {
	t.Helper()
	t.Setenv(cli.EnvServer, "") // tests pick the daemon by the state dir's socket
	t.Setenv(cli.EnvToken, "")
	if o.stateDir == "" {
		o.stateDir = shortTempDir(t)
	}
	s, err := store.Open(o.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if o.engine == nil {
		o.engine = fakeEngine()
	}
	if o.proxy == nil {
		o.proxy = daemontest.NewProxy()
	}
	logs := &syncBuffer{}
	srv, err := daemon.New(daemon.Config{Store: s, Engine: o.engine, Proxy: o.proxy, Listen: o.listen, Token: o.token,
		ShutdownTimeout: o.shutdownTimeout, Version: "test", Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	d := &testDaemon{t: t, srv: srv, stateDir: o.stateDir, store: s, proxy: o.proxy, logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		if err := d.shutdown(time.Minute); err != nil {
			t.Errorf("daemon shutdown: %v", err)
		}
	})
	return d
}

// shutdown stops the daemon as SIGTERM does and waits for Run to return.
func (d *testDaemon) shutdown(within time.Duration) error {
	d.stop()
	select {
	case err, ok := <-d.done:
		if ok {
			close(d.done)
		}
		return err
	case <-time.After(within):
		return errors.New("Run did not return")
	}
}

// waitLog waits until the daemon's log has text (a request is logged
// when its handler returns, just after the client got its answer).
func (d *testDaemon) waitLog(text string) {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(d.logs.String(), text) {
		if time.Now().After(deadline) {
			d.t.Fatalf("the daemon's log has no %q:\n%s", text, d.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// http is a client of the daemon's socket.
func (d *testDaemon) http() *http.Client {
	sock := d.srv.SocketPath()
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", sock)
	}}}
}

// fakeEngine holds hello:1 and hello:2 (healthy once started), slow:1 (no
// healthcheck: ready after min_ready) and bad:1 (exits at once).
func fakeEngine() *enginetest.Fake {
	f := enginetest.New(nil)
	for ref, health := range map[string]string{"hello:1": "healthy", "hello:2": "healthy", "slow:1": "", "bad:1": "exit"} {
		f.AddImage(ref, "sha256:"+strings.ReplaceAll(ref, ":", ""))
		f.SetHealth(ref, health)
	}
	return f
}

// writeStack writes a one-service stack running image, with min_ready.
func writeStack(t *testing.T, name, image, minReady string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	content := "name: " + name + "\nservices:\n  web:\n    image: " + image + "\nx-cutover:\n  min_ready: " + minReady + "\n  health_timeout: 20s\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the CLI in this process against stateDir.
func run(t *testing.T, ctx context.Context, stateDir string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	code := cli.Run(ctx, append([]string{"--state-dir", stateDir}, args...), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func mustRun(t *testing.T, stateDir string, args ...string) result {
	t.Helper()
	r := run(t, context.Background(), stateDir, args...)
	if r.code != 0 {
		t.Fatalf("cutover %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// shortTempDir is a temp dir with a path short enough for a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ct")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer = syncbuf.Buffer
