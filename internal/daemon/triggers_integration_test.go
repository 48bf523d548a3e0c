package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	dockerregistry "github.com/docker/docker/api/types/registry"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/daemon/daemontest"
	"github.com/cutover/cutover/internal/registry/registrytest"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// serviceCompose is a one-service stack running image with a watch policy.
func serviceCompose(image, policy string) string {
	return fmt.Sprintf(`services:
  web:
    image: %s
    stop_grace_period: 2s
    x-cutover:
      watch: {tags: %q}
x-cutover:
  min_ready: 300ms
  health_timeout: 30s
`, image, policy)
}

// buildV2 builds a second healthy test image (version v2) and returns its ID.
func buildV2(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: "cutover-dt-" + hex.EncodeToString(b) + ":v2", Version: "v2", Healthcheck: true})
}

// composeFile writes the stack's compose file.
func (w *dockerWorld) composeFile(content string) string {
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

// runningImage is the image ID the stack's web container runs.
func (w *dockerWorld) runningImage() string {
	w.t.Helper()
	cs, err := w.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: w.stack, compose.LabelService: "web"})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Running() && c.Name == w.stack+"-web-1" {
			return c.ImageID
		}
	}
	w.t.Fatalf("no running %s-web-1 (containers: %+v)", w.stack, cs)
	return ""
}

// The end-to-end case: a real registry (Debian's docker-registry)
// notifies the daemon's hooks listener, and a `docker push` of a new tag
// deploys it with no other action.
func TestTriggersIntegration_RegistryPushDeploys(t *testing.T) {
	v2 := buildV2(t) // before the world: removed after its containers
	w := newDockerWorld(t)
	d := startHookDaemon(t, w.eng, nil)
	reg := registrytest.Start(t, registrytest.Options{Notifications: []registrytest.Endpoint{{
		Name: "cutover", URL: d.hookURL(daemon.HookPathRegistry), Headers: map[string][]string{"Authorization": {registryAuth}},
	}}})
	cli := w.eng.Client()
	reg.Push(t, cli, w.good, "web", "1.0.0", dockerregistry.AuthConfig{})
	mustRun(t, d.stateDir, "deploy", "-f", w.composeFile(serviceCompose(reg.Ref("web", "1.0.0"), "patch")), "-p", w.stack)

	digest := reg.Push(t, cli, v2, "web", "1.0.1", dockerregistry.AuthConfig{})
	rel := d.waitRelease(w.stack, 2, 60*time.Second)
	want := reg.Ref("web", "1.0.1") + "@" + digest
	if rel.Status != store.StatusActive || rel.Trigger != "webhook:registry" || rel.Images["web"].Ref != want {
		t.Fatalf("release 2: %s, trigger %q, web %q; want active, webhook:registry, %s", rel.Status, rel.Trigger, rel.Images["web"].Ref, want)
	}
	if got := w.runningImage(); got != v2 {
		t.Errorf("web runs image %s, want the pushed %s", got, v2)
	}
	d.waitQuiet(w.stack, 30*time.Second)
	if n := len(d.releases(w.stack)); n != 2 {
		t.Errorf("%d releases, want 2 (the push deploys once)", n)
	}
}

// 50 pushes for one stack within a second make one release of the last
// tag, plus at most one release that was already running when they came.
func TestTriggersIntegration_BurstCoalesces(t *testing.T) {
	w := newDockerWorld(t)
	d := startHookDaemon(t, w.eng, nil)
	repo := "cutover-burst-" + w.stack
	cl := w.eng.Client()
	for i := 0; i <= 50; i++ {
		ref := fmt.Sprintf("%s:1.0.%d", repo, i)
		if err := cl.ImageTag(context.Background(), w.good, ref); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = cl.ImageRemove(context.Background(), ref, image.RemoveOptions{}) })
	}
	mustRun(t, d.stateDir, "deploy", "-f", w.composeFile(serviceCompose(repo+":1.0.0", "semver:^1.0")), "-p", w.stack)

	// Spread over about a second: each push extends the debounce window,
	// so the burst becomes one release, of the last tag.
	start := time.Now()
	for i := 1; i <= 50; i++ {
		body := genericBody(repo, fmt.Sprintf("1.0.%d", i), "")
		if a := d.postHook(daemon.HookPathGeneric, signed(genericSecret, body), body); a.status != http.StatusAccepted {
			t.Fatalf("push %d: answered %d %s", i, a.status, a.body)
		}
		time.Sleep(18 * time.Millisecond)
	}
	t.Logf("50 pushes sent in %s", time.Since(start))
	d.waitLog(repo + ":1.0.50")
	waitFor(t, 90*time.Second, "a release of 1.0.50", func() bool {
		for _, r := range d.releases(w.stack) {
			if strings.HasSuffix(r.Images["web"].Ref, ":1.0.50") && r.Status == store.StatusActive {
				return true
			}
		}
		return false
	})
	d.waitQuiet(w.stack, 30*time.Second)
	rels := d.releases(w.stack)[1:]
	if len(rels) != 1 {
		t.Fatalf("%d releases after the pushes, want 1 (of the last tag): %v", len(rels), refsOf(rels))
	}
	t.Logf("releases after the pushes: %v", refsOf(rels))
	last := rels[len(rels)-1]
	if last.Images["web"].Ref != repo+":1.0.50" || last.Trigger != "webhook:generic" {
		t.Errorf("last release runs %s (trigger %s), want %s:1.0.50 by webhook:generic", last.Images["web"].Ref, last.Trigger, repo)
	}
}

func refsOf(rels []store.Release) []string {
	var out []string
	for _, r := range rels {
		out = append(out, fmt.Sprintf("%d:%s:%s", r.Number, r.Status, r.Images["web"].Ref))
	}
	return out
}

// cutover check reports a tag pushed again as drifted (in-process), and
// --apply through the daemon redeploys it; then all is current.
func TestCheckIntegration_DriftAndApply(t *testing.T) {
	v2 := buildV2(t)
	w := newDockerWorld(t)
	reg := registrytest.Start(t, registrytest.Options{})
	cl := w.eng.Client()
	stateDir := shortTempDir(t)
	t.Setenv(cli.EnvServer, "")
	first := reg.Push(t, cl, w.good, "web", "v1", dockerregistry.AuthConfig{})
	mustRun(t, stateDir, "deploy", "-f", w.composeFile(serviceCompose(reg.Ref("web", "v1"), "exact")), "-p", w.stack)

	r := mustRun(t, stateDir, "check", w.stack)
	if !strings.Contains(r.stdout, "current") {
		t.Errorf("check before the re-push:\n%s", r.stdout)
	}
	second := reg.Push(t, cl, v2, "web", "v1", dockerregistry.AuthConfig{}) // the same tag, another image
	r = run(t, context.Background(), stateDir, "check", w.stack, "-o", "json")
	var rep api.CheckReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("check -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if r.code != cli.ExitFailed || rep.Drifted != 1 || len(rep.Stacks) != 1 || len(rep.Stacks[0].Services) != 1 {
		t.Fatalf("check after the re-push: exit %d, report %+v; want exit 1 and one drifted service", r.code, rep)
	}
	s := rep.Stacks[0].Services[0]
	if s.Status != api.CheckDrifted || s.Running != first || s.Registry != second || s.Image != reg.Ref("web", "v1") {
		t.Errorf("web: %+v; want drifted from %s to %s", s, first, second)
	}

	d := startDaemonOn(t, stateDir, w)
	r = mustRun(t, stateDir, "check", w.stack, "--apply")
	if !strings.Contains(r.stdout, "release 2 is active (redeployed web)") {
		t.Errorf("check --apply:\n%s", r.stdout)
	}
	d.waitLog("path=/v1/check")
	rel, err := d.store.GetRelease(context.Background(), w.stack, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Trigger != daemon.TriggerCheck || rel.Images["web"].Ref != reg.Ref("web", "v1")+"@"+second {
		t.Errorf("release 2: trigger %q, web %q", rel.Trigger, rel.Images["web"].Ref)
	}
	if got := w.runningImage(); got != v2 {
		t.Errorf("web runs %s after --apply, want %s", got, v2)
	}
	r = mustRun(t, stateDir, "check", w.stack)
	if !strings.Contains(r.stdout, "current") || strings.Contains(r.stdout, "drifted") {
		t.Errorf("check after --apply:\n%s", r.stdout)
	}
}

// startDaemonOn starts a daemon on the world's engine and an existing
// state dir.
func startDaemonOn(t *testing.T, stateDir string, w *dockerWorld) *testDaemon {
	t.Helper()
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
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	d := &testDaemon{t: t, srv: srv, stateDir: stateDir, store: s, logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		if err := d.shutdown(time.Minute); err != nil {
			t.Errorf("daemon shutdown: %v", err)
		}
	})
	return d
}
