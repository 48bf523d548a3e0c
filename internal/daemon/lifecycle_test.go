package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/daemon/daemontest"
	"github.com/cutover/cutover/internal/store"
)

func loadStack(file string) (*compose.Stack, error) {
	return compose.Load(context.Background(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
}

// releaseStatus is release n of stack's status ("" when not recorded).
// releaseReason is why release n of stack ended as it did.
func releaseReason(d *testDaemon, stack string, n int) string {
	rel, _ := d.store.GetRelease(context.Background(), stack, n)
	return rel.Reason
}

func releaseStatus(d *testDaemon, stack string, n int) store.Status {
	rel, err := d.store.GetRelease(context.Background(), stack, n)
	if err != nil {
		return ""
	}
	return rel.Status
}

// Ctrl-C in a CLI that waits for the daemon's deploy leaves the deploy
// running: the CLI says so and exits 130, not 1 (which would tell CI the
// release failed), and the release still becomes active.
func TestCLI_InterruptedWhileTheDaemonDeploys(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	file := writeStack(t, "shop", "slow:1", "1s")
	ctx, interrupt := context.WithCancel(context.Background())
	result := make(chan cliResult, 1)
	go func() { result <- cliResult(run(t, ctx, d.stateDir, "deploy", "-f", file)) }()
	waitFor(t, 10*time.Second, "the deploy to start", func() bool { return releaseStatus(d, "shop", 1) == store.StatusDeploying })
	interrupt()
	r := <-result
	if r.code != cli.ExitDetached || !strings.Contains(r.stderr, "goes on in the daemon") {
		t.Errorf("interrupted CLI: exit %d, stderr %q; want %d saying the deploy goes on", r.code, r.stderr, cli.ExitDetached)
	}
	waitFor(t, 20*time.Second, "release 1 to become active", func() bool { return releaseStatus(d, "shop", 1) == store.StatusActive })
}

func TestServer_DeployGoesOnWhenTheClientLeaves(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	file := writeStack(t, "shop", "slow:1", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	lines, closeBody := postStream(t, ctx, d, "/v1/stacks/shop/deploy", deployBody(t, file))
	defer closeBody()
	if !lines.Scan() {
		t.Fatalf("no first line: %v", lines.Err())
	}
	var first api.Line
	if err := json.Unmarshal(lines.Bytes(), &first); err != nil || first.Event == nil {
		t.Fatalf("first line %s: %v; want an event", lines.Bytes(), err)
	}
	cancel() // the terminal closed
	closeBody()

	waitFor(t, 20*time.Second, "release 1 to become active without its client", func() bool {
		return releaseStatus(d, "shop", 1) == store.StatusActive
	})
	rel, _ := d.store.GetRelease(context.Background(), "shop", 1)
	if rel.Trigger != "test" {
		t.Errorf("trigger = %q, want the request's", rel.Trigger)
	}
	waitFor(t, 5*time.Second, "the daemon to log the end", func() bool {
		return strings.Contains(d.logs.String(), "operation ended")
	})
}

func TestServer_ShutdownLetsTheDeployFinish(t *testing.T) {
	proxy := daemontest.NewProxy()
	d := startDaemon(t, daemonOptions{proxy: proxy, shutdownTimeout: time.Minute})
	file := writeStack(t, "shop", "slow:1", "1s")
	result := make(chan cliResult, 1)
	go func() { result <- cliResult(run(t, context.Background(), d.stateDir, "deploy", "-f", file)) }()
	waitFor(t, 10*time.Second, "the deploy to start", func() bool { return releaseStatus(d, "shop", 1) == store.StatusDeploying })

	if err := d.shutdown(time.Minute); err != nil {
		t.Fatal(err)
	}
	r := <-result
	if r.code != 0 || releaseStatus(d, "shop", 1) != store.StatusActive {
		t.Errorf("deploy during shutdown: exit %d, release %s; want 0, active\nstderr:\n%s", r.code, releaseStatus(d, "shop", 1), r.stderr)
	}
	if _, err := os.Stat(d.srv.SocketPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after shutdown: %v", err)
	}
	if !proxy.Closed() {
		t.Error("proxy not closed")
	}
}

func TestServer_ShutdownTimeoutCancelsTheDeploy(t *testing.T) {
	d := startDaemon(t, daemonOptions{shutdownTimeout: 200 * time.Millisecond})
	file := writeStack(t, "shop", "slow:1", "30s")
	result := make(chan cliResult, 1)
	go func() { result <- cliResult(run(t, context.Background(), d.stateDir, "deploy", "-f", file)) }()
	waitFor(t, 10*time.Second, "the deploy to start", func() bool { return releaseStatus(d, "shop", 1) == store.StatusDeploying })

	start := time.Now()
	if err := d.shutdown(time.Minute); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	if got := releaseStatus(d, "shop", 1); got != store.StatusAborted {
		t.Errorf("release 1 is %s after the shutdown timeout, want aborted", got)
	}
	if why := releaseReason(d, "shop", 1); !strings.Contains(why, "daemon shut down") || strings.Contains(why, "context canceled") {
		t.Errorf("release 1's reason %q does not say the daemon's shutdown stopped it", why)
	}
	r := <-result
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "aborted") {
		t.Errorf("deploy cancelled by shutdown: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}

func TestServer_AbortCancelsTheDaemonsDeploy(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	file := writeStack(t, "shop", "slow:1", "30s")
	result := make(chan cliResult, 1)
	go func() { result <- cliResult(run(t, context.Background(), d.stateDir, "deploy", "-f", file)) }()
	waitFor(t, 10*time.Second, "the deploy to start", func() bool { return releaseStatus(d, "shop", 1) == store.StatusDeploying })

	r := mustRun(t, d.stateDir, "abort", "shop")
	if !strings.Contains(r.stdout, "release 1 of shop is aborted") {
		t.Errorf("abort: %s\n%s", r.stdout, r.stderr)
	}
	dep := <-result
	if dep.code != cli.ExitFailed {
		t.Errorf("aborted deploy exit %d, want %d", dep.code, cli.ExitFailed)
	}
	// Where it was ("…, during wait-ready shop-web-1") is said when the
	// abort lands in a step; it may land between two.
	if why := releaseReason(d, "shop", 1); !strings.HasPrefix(why, "aborted by cutover abort") || strings.Contains(why, "context canceled") {
		t.Errorf("release 1's reason %q does not say cutover abort stopped it", why)
	}
	if fe := d.proxy.(*daemontest.Proxy); fe.Closed() {
		t.Error("abort closed the proxy")
	}
	if r := run(t, context.Background(), d.stateDir, "abort", "shop"); r.code != cli.ExitBadInput || !strings.Contains(r.stderr, "no deploy of shop is running") {
		t.Errorf("abort with nothing running: exit %d, %q", r.code, r.stderr)
	}
}

type cliResult result
