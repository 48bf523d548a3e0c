package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/daemontest"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// dockerWorld is an integration test's engine, images and stack, with
// cleanup of every container, network and volume of the stack.
type dockerWorld struct {
	t     *testing.T
	eng   *docker.Engine
	stack string
	good  string // test app image with a healthcheck
	bad   string // test app image that exits on start
}

func newDockerWorld(t *testing.T) *dockerWorld {
	t.Helper()
	images := testimage.ForTest(t) // fails without an engine unless CUTOVER_SKIP_DOCKER=1
	eng, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker engine: %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	w := &dockerWorld{t: t, eng: eng, stack: "cd" + suffix, good: "cutover-dt-" + suffix + ":v1", bad: "cutover-dt-" + suffix + ":bad"}
	images.BuildForTest(t, testimage.Options{Tag: w.good, Version: "v1", Healthcheck: true})
	images.BuildForTest(t, testimage.Options{Tag: w.bad, Version: "bad", Env: map[string]string{"TESTAPP_EXIT_ON_START": "1"}})
	t.Cleanup(w.cleanup) // runs before the images are removed
	return w
}

// compose writes the stack's compose file running image; extra is added
// to the service (indented YAML), minReady is x-cutover.min_ready.
func (w *dockerWorld) compose(image, extra, minReady string) string {
	w.t.Helper()
	dir := filepath.Join(w.t.TempDir(), w.stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("services:\n  web:\n    image: " + image + "\n    stop_grace_period: 2s\n" + extra)
	b.WriteString("x-cutover:\n  min_ready: " + minReady + "\n  health_timeout: 30s\n")
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return file
}

func (w *dockerWorld) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	by := map[string]string{compose.LabelProject: w.stack}
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
	if vs, err := w.eng.ListVolumes(ctx, by); err == nil {
		for _, v := range vs {
			_ = w.eng.RemoveVolume(ctx, v.Name)
		}
	}
	w.eng.Close()
}

type deploySummary struct {
	Release  int    `json:"release"`
	Status   string `json:"status"`
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

func TestDaemonIntegration_CLIDeploysThroughTheDaemon(t *testing.T) {
	w := newDockerWorld(t)
	stateDir := shortTempDir(t)
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := daemon.New(daemon.Config{Store: s, Engine: w.eng, Proxy: daemontest.NewProxy(), Version: "test",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(cli.EnvServer, "")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	d := &testDaemon{t: t, srv: srv, stateDir: stateDir, store: s, logs: logs}

	good := w.compose(w.good, "", "300ms")
	r := mustRun(t, stateDir, "deploy", "-f", good, "-p", w.stack)
	if !strings.Contains(r.stdout, "release 1 of "+w.stack+" is active") {
		t.Errorf("deploy: %s", r.stdout)
	}
	d.waitLog("path=/v1/stacks/" + w.stack + "/deploy")
	r = mustRun(t, stateDir, "status", w.stack)
	if !strings.Contains(r.stdout, "release:  1 active") || !strings.Contains(r.stdout, w.stack+"-web-1") || !strings.Contains(r.stdout, "running") {
		t.Errorf("status through the daemon:\n%s", r.stdout)
	}
	d.waitLog("path=/v1/stacks/" + w.stack + " ")

	// A release whose container exits on start fails through the daemon…
	bad := w.compose(w.bad, "", "300ms")
	var viaDaemon, inProcess deploySummary
	r = run(t, ctx, stateDir, "deploy", "-f", bad, "-p", w.stack, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &viaDaemon); err != nil {
		t.Fatalf("deploy -o json through the daemon: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	codeViaDaemon := r.code

	// …and in-process, once the daemon is gone, with the same exit code.
	stop()
	if err := <-ran; err != nil {
		t.Fatalf("daemon Run: %v", err)
	}
	if daemon.Answers(context.Background(), srv.SocketPath(), time.Second) {
		t.Fatal("the daemon still answers after shutdown")
	}
	r = run(t, context.Background(), stateDir, "deploy", "-f", bad, "-p", w.stack, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &inProcess); err != nil {
		t.Fatalf("deploy -o json in-process: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if codeViaDaemon != cli.ExitFailed || r.code != codeViaDaemon {
		t.Errorf("failing deploy: exit %d through the daemon, %d in-process; want both %d", codeViaDaemon, r.code, cli.ExitFailed)
	}
	if viaDaemon.Status != "failed" || inProcess.Status != "failed" || viaDaemon.ExitCode != inProcess.ExitCode {
		t.Errorf("failing deploy summaries differ: daemon %+v, in-process %+v", viaDaemon, inProcess)
	}
	if viaDaemon.Release != 2 || inProcess.Release != 3 {
		t.Errorf("releases %d and %d, want 2 and 3 (one store, one counter)", viaDaemon.Release, inProcess.Release)
	}
	// Release 1 still serves.
	r = mustRun(t, stateDir, "status", w.stack)
	if !strings.Contains(r.stdout, "release:  1 active") {
		t.Errorf("after the failed releases:\n%s", r.stdout)
	}
}

func TestDaemonIntegration_SIGTERMLetsTheDeployFinish(t *testing.T) {
	w := newDockerWorld(t)
	bin := buildCutover(t)
	stateDir := shortTempDir(t)
	t.Setenv(cli.EnvServer, "")

	serve := exec.Command(bin, "--state-dir", stateDir, "serve", "--shutdown-timeout", "1m")
	var out, errb syncBuffer
	serve.Stdout, serve.Stderr = &out, &errb
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() { _ = serve.Process.Kill() })
	sock := daemon.SocketPath(stateDir)
	waitFor(t, 30*time.Second, "the daemon to answer", func() bool { return daemon.Answers(context.Background(), sock, 200*time.Millisecond) })
	// The line is printed right after the socket starts answering; give
	// the write a moment instead of racing it.
	listening := "cutover daemon listening on " + sock
	waitFor(t, 5*time.Second, "serve to print "+listening, func() bool { return strings.Contains(out.String(), listening) })

	// A deploy that takes a few seconds (no healthcheck: ready after
	// min_ready) is running when SIGTERM comes.
	file := w.compose(w.good, "    healthcheck:\n      disable: true\n", "4s")
	result := make(chan cliResult, 1)
	go func() {
		result <- cliResult(run(t, context.Background(), stateDir, "deploy", "-f", file, "-p", w.stack))
	}()
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the deploy to start", func() bool {
		rel, err := s.GetRelease(context.Background(), w.stack, 1)
		return err == nil && rel.Status == store.StatusDeploying
	})
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v\nstderr:\n%s", err, errb.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not exit after SIGTERM\nstderr:\n%s", errb.String())
	}
	r := <-result
	if r.code != 0 {
		t.Errorf("the deploy running at SIGTERM: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	if rel, err := s.GetRelease(context.Background(), w.stack, 1); err != nil || rel.Status != store.StatusActive {
		t.Errorf("release 1 = %s, %v; want active", rel.Status, err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after SIGTERM: %v", err)
	}
}

// buildCutover builds ./cmd/cutover into a temp dir.
func buildCutover(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cutover")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cutover: %v\n%s", err, out)
	}
	return bin
}
