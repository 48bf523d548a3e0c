package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

func TestServer_CLIRunsThroughTheSocket(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	file := writeStack(t, "shop", "hello:1", "100ms")

	r := mustRun(t, d.stateDir, "deploy", "-f", file)
	if !strings.Contains(r.stdout, "release 1 of shop is active") {
		t.Errorf("deploy output:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "release 1 of shop: active") {
		t.Errorf("deploy progress (stderr) does not show the release going active:\n%s", r.stderr)
	}
	d.waitLog("path=/v1/stacks/shop/deploy") // the daemon served the deploy

	var h []store.Release
	r = mustRun(t, d.stateDir, "history", "shop", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatalf("history json: %v\n%s", err, r.stdout)
	}
	if len(h) != 1 || h[0].Status != store.StatusActive || h[0].Trigger != "cli" || len(h[0].Spec) != 0 {
		t.Errorf("history = %+v, want release 1 active, triggered by cli, without spec", h)
	}
	d.waitLog("path=/v1/stacks/shop/releases")

	// The stack's routes show in status when a daemon runs.
	ctx := context.Background()
	if err := d.proxy.EnsureRoute(ctx, lb.Route{Name: "shop/web", Listen: "127.0.0.1:18080"}); err != nil {
		t.Fatal(err)
	}
	if err := d.proxy.SetTargets(ctx, "shop/web", []string{"172.30.0.2:80"}); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, d.stateDir, "status", "shop")
	for _, want := range []string{"release:  1 active", "shop-web-1", "ROUTE", "shop/web", "127.0.0.1:18080", "172.30.0.2:80"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status does not show %q:\n%s", want, r.stdout)
		}
	}
	var st api.StackStatus
	r = mustRun(t, d.stateDir, "status", "shop", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Release == nil || st.Release.Number != 1 || len(st.Routes) != 1 || st.Routes[0].Targets[0].Addr != "172.30.0.2:80" {
		t.Errorf("status json = %+v", st)
	}
	if r := run(t, ctx, d.stateDir, "status", "nosuchstack"); r.code != cli.ExitBadInput || !strings.Contains(r.stderr, `no stack named "nosuchstack"`) {
		t.Errorf("status of an unknown stack: exit %d, stderr %q", r.code, r.stderr)
	}

	mustRun(t, d.stateDir, "deploy", "-f", file, "--image", "web=hello:2")
	r = mustRun(t, d.stateDir, "down", "shop")
	if !strings.Contains(r.stdout, "stack shop is down: removed 1 containers") {
		t.Errorf("down output: %s", r.stdout)
	}
}

func TestServer_ExitCodesMatchInProcess(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	ctx := context.Background()

	// A release that fails: exit 1 and the release recorded failed.
	bad := writeStack(t, "shop", "bad:1", "100ms")
	r := run(t, ctx, d.stateDir, "deploy", "-f", bad, "-o", "json")
	if r.code != cli.ExitFailed {
		t.Fatalf("failing deploy: exit %d, want %d\nstderr:\n%s", r.code, cli.ExitFailed, r.stderr)
	}
	var sum struct {
		Status   string `json:"status"`
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("deploy -o json: %v\n%s", err, r.stdout)
	}
	if sum.Status != "failed" || sum.ExitCode != cli.ExitFailed || !strings.Contains(sum.Error, "release 1 of shop failed") {
		t.Errorf("deploy -o json = %+v", sum)
	}

	// Bad input found by the daemon: exit 2.
	good := writeStack(t, "shop", "hello:1", "100ms")
	r = run(t, ctx, d.stateDir, "deploy", "-f", good, "--image", "nosuch=hello:2")
	if r.code != cli.ExitBadInput || !strings.Contains(r.stderr, `has no service "nosuch"`) {
		t.Errorf("unknown service: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, ctx, d.stateDir, "confirm", "shop")
	if r.code != cli.ExitBadInput || !strings.Contains(r.stderr, "nothing to confirm") {
		t.Errorf("confirm with nothing awaiting: exit %d, stderr %q", r.code, r.stderr)
	}

	// A stale lock: exit 3, with the hint to unlock.
	if _, err := d.store.Acquire(ctx, store.Lock{Stack: "shop", Release: 7, PID: deadPID(t)}); err != nil {
		t.Fatal(err)
	}
	r = run(t, ctx, d.stateDir, "deploy", "-f", good)
	if r.code != cli.ExitConflict || !strings.Contains(r.stderr, "clear the stale lock with: cutover unlock shop") {
		t.Errorf("locked stack: exit %d, stderr %q", r.code, r.stderr)
	}
	r = mustRun(t, d.stateDir, "unlock", "shop")
	if !strings.Contains(r.stdout, "stack shop unlocked (was held by release 7") {
		t.Errorf("unlock: %s", r.stdout)
	}
	mustRun(t, d.stateDir, "deploy", "-f", good)
}

// deadPID is the pid of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

func TestServer_OneDaemonPerStateDir(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	info, err := os.Stat(d.srv.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&os.ModeSocket == 0 || info.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want a socket with 0600", info.Mode())
	}
	second, err := daemon.New(daemon.Config{Store: d.store, Engine: fakeEngine(), Proxy: nil})
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(context.Background())
	want := "a cutover daemon already runs on " + d.srv.SocketPath()
	if err == nil || err.Error() != want {
		t.Fatalf("second daemon: %v, want %q", err, want)
	}
	// The first is unharmed.
	if !daemon.Answers(context.Background(), d.srv.SocketPath(), time.Second) {
		t.Fatal("the first daemon stopped answering")
	}
}

func TestServer_RemovesAStaleSocket(t *testing.T) {
	dir := shortTempDir(t)
	path := daemon.SocketPath(dir)
	// A socket file nothing listens on, as a killed daemon leaves it.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	d := startDaemon(t, daemonOptions{stateDir: dir})
	resp, err := d.http().Get("http://cutover/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h api.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Version != "test" || h.PID != os.Getpid() {
		t.Errorf("health = %+v, %v", h, err)
	}
}

func TestServer_TCPNeedsTheToken(t *testing.T) {
	if _, err := daemon.New(daemon.Config{Store: mustStore(t), Engine: fakeEngine(), Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("New accepted TCP without a token")
	}
	const token = "s3cret-token-7f1c9a"
	d := startDaemon(t, daemonOptions{listen: "127.0.0.1:0", token: token})
	base := "http://" + d.srv.TCPAddr()

	for _, tc := range []struct {
		desc   string
		header string
		status int
	}{
		{desc: "no token", status: http.StatusUnauthorized},
		{desc: "wrong token", header: "Bearer not-the-token", status: http.StatusUnauthorized},
		{desc: "token prefix", header: "Bearer " + token[:5], status: http.StatusUnauthorized},
		{desc: "basic auth", header: "Basic " + token, status: http.StatusUnauthorized},
		{desc: "right token", header: "Bearer " + token, status: http.StatusOK},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+"/v1/health", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusUnauthorized {
				var e api.ErrorResponse
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Kind != api.KindUnauthorized {
					t.Errorf("401 body = %+v, %v; want a JSON error of kind unauthorized", e, err)
				}
			}
		})
	}

	// The CLI over TCP: the token from CUTOVER_TOKEN or --token-file.
	file := writeStack(t, "shop", "hello:1", "100ms")
	other := shortTempDir(t) // no socket here: only --server leads to the daemon
	t.Setenv(cli.EnvToken, "wrong")
	r := run(t, context.Background(), other, "--server", base, "deploy", "-f", file)
	if r.code != cli.ExitEnv || !strings.Contains(r.stderr, "missing or wrong bearer token") {
		t.Errorf("wrong token: exit %d, stderr %q", r.code, r.stderr)
	}
	t.Setenv(cli.EnvToken, token)
	t.Setenv(cli.EnvServer, base)
	mustRun(t, other, "deploy", "-f", file)
	t.Setenv(cli.EnvToken, "")
	tokenFile := other + "/token"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, other, "--token-file", tokenFile, "status", "shop")
	if !strings.Contains(r.stdout, "release:  1 active") {
		t.Errorf("status over TCP:\n%s", r.stdout)
	}
	if strings.Contains(d.logs.String(), token) {
		t.Errorf("the token appears in the daemon's log:\n%s", d.logs)
	}
	d.waitLog("transport=tcp")
}

func mustStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(shortTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// postStream posts body to path on the daemon's socket and returns a
// reader of its NDJSON lines.
func postStream(t *testing.T, ctx context.Context, d *testDaemon, path, body string) (*bufio.Scanner, func()) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://cutover"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.http().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.ContentNDJSON {
		t.Fatalf("POST %s: %s %s", path, resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return sc, func() { resp.Body.Close() }
}

// deployBody is a deploy request for the stack in file, as the CLI sends it.
func deployBody(t *testing.T, file string) string {
	t.Helper()
	st, err := loadStack(file)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(api.DeployRequest{WorkingDir: st.WorkingDir(), ConfigFiles: st.ConfigFiles(), Spec: spec, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
