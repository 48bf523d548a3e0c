package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/daemontest"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/webhook"
)

// Secrets of the test daemons' hooks.
const (
	hubToken      = "hub-token-7f3a"
	registryAuth  = "Bearer registry-secret"
	githubSecret  = "It's a Secret to Everybody"
	genericSecret = "generic-secret"
	genericToken  = "generic-token"
)

// hookSecrets are the global secrets of the test daemons.
func hookSecrets() webhook.Receiver {
	return webhook.Receiver{DockerHubToken: hubToken, RegistryAuthorization: registryAuth, GitHubSecret: githubSecret,
		GenericSecret: genericSecret, GenericToken: genericToken}
}

// startHookDaemon starts a daemon on eng with its hooks listener on a
// free loopback port; configure adjusts the config before it starts.
func startHookDaemon(t *testing.T, eng engine.Engine, configure func(*daemon.Config)) *testDaemon {
	t.Helper()
	t.Setenv(cli.EnvServer, "")
	t.Setenv(cli.EnvToken, "")
	stateDir := shortTempDir(t)
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	proxy := daemontest.NewProxy()
	cfg := daemon.Config{Store: s, Engine: eng, Proxy: proxy, Version: "test",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Hooks:  daemon.HooksConfig{Listen: "127.0.0.1:0", Receiver: hookSecrets()}}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	d := &testDaemon{t: t, srv: srv, stateDir: stateDir, store: s, proxy: proxy, logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		if err := d.shutdown(time.Minute); err != nil {
			t.Errorf("daemon shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs)
		}
	})
	return d
}

// hookURL is the daemon's hooks endpoint at path.
func (d *testDaemon) hookURL(path string) string {
	return "http://" + d.srv.HooksAddr() + path
}

// hookAnswer is a hook's HTTP answer.
type hookAnswer struct {
	status int
	body   string
}

// postHook posts body to the hooks endpoint path with headers.
func (d *testDaemon) postHook(path string, headers map[string]string, body []byte) hookAnswer {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.hookURL(path), bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return hookAnswer{status: resp.StatusCode, body: string(data)}
}

// releases lists a stack's releases, lowest number first.
func (d *testDaemon) releases(stack string) []store.Release {
	d.t.Helper()
	rels, err := d.store.ListReleases(context.Background(), stack)
	if err != nil {
		d.t.Fatal(err)
	}
	return rels
}

// waitRelease waits until release n of stack has ended (active,
// awaiting-confirm, failed …) and returns it.
func (d *testDaemon) waitRelease(stack string, n int, timeout time.Duration) store.Release {
	d.t.Helper()
	var rel store.Release
	waitFor(d.t, timeout, "release "+strconv.Itoa(n)+" of "+stack+" to end", func() bool {
		r, err := d.store.GetRelease(context.Background(), stack, n)
		if err != nil {
			return false
		}
		rel = r
		return r.Status != store.StatusPending && r.Status != store.StatusDeploying
	})
	return rel
}

// waitQuiet waits until the stack's lock is free and no release is
// pending or deploying.
func (d *testDaemon) waitQuiet(stack string, timeout time.Duration) {
	d.t.Helper()
	waitFor(d.t, timeout, stack+" to be idle", func() bool {
		if _, held, err := d.store.GetLock(context.Background(), stack); err != nil || held {
			return false
		}
		for _, r := range d.releases(stack) {
			if r.Status == store.StatusPending || r.Status == store.StatusDeploying {
				return false
			}
		}
		return true
	})
}

// writeCompose writes content as compose.yaml in a directory named after
// the stack and returns its path.
func writeCompose(t *testing.T, stack, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// digests is a DigestSource answering from a map (ref → digest).
type digests struct {
	mu sync.Mutex
	m  map[string]string
}

func (f *digests) Digest(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.m[ref]; ok {
		return d, nil
	}
	return "", os.ErrNotExist
}

// genericBody is a generic hook's body.
func genericBody(image, tag, digest string) []byte {
	m := map[string]string{"image": image, "tag": tag}
	if digest != "" {
		m["digest"] = digest
	}
	b, _ := json.Marshal(m)
	return b
}

// signed returns the X-Cutover-Signature-256 header for body.
func signed(secret string, body []byte) map[string]string {
	return map[string]string{webhook.GenericSignatureHeader: webhook.Sign(secret, body)}
}

// sha is a digest made of one repeated hex digit.
func sha(c string) string { return "sha256:" + strings.Repeat(c, 64) }
