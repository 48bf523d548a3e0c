package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/testimage"
)

// env is one integration test's world: a real engine, a state dir, a unique
// stack name, and cleanup of everything the stack made.
type env struct {
	t        *testing.T
	eng      *docker.Engine
	images   *testimage.Builder
	stateDir string
	dir      string // where compose files go
	stack    string
	tag      string // image repository unique to the test
}

func newEnv(t *testing.T) *env {
	t.Helper()
	images := testimage.ForTest(t) // fails (or skips with CUTOVER_SKIP_DOCKER=1) without an engine
	eng, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker engine: %v", err)
	}
	suffix := randomSuffix()
	e := &env{t: t, eng: eng, images: images, stateDir: t.TempDir(), stack: "ct" + suffix, tag: "cutover-it-" + suffix}
	e.dir = filepath.Join(t.TempDir(), e.stack)
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cleanup() })
	return e
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// image builds a test app image tagged <repo>:<version> with the given env.
func (e *env) image(version string, appEnv map[string]string, healthcheck bool) string {
	e.t.Helper()
	ref := e.tag + ":" + version
	e.images.BuildForTest(e.t, testimage.Options{Tag: ref, Version: version, Env: appEnv, Healthcheck: healthcheck})
	// Cleanups run last-in first-out: containers must go before the image.
	e.t.Cleanup(e.removeContainers)
	return ref
}

// writeCompose writes compose.yaml into the stack's directory.
func (e *env) writeCompose(content string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, "compose.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the cutover CLI in-process with the test's state dir.
func (e *env) run(args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(e.t.Context(), 3*time.Minute)
	defer cancel()
	code := cli.Run(ctx, append([]string{"--state-dir", e.stateDir}, args...), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func (e *env) mustRun(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("cutover %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// containers lists the stack's containers as docker sees them.
func (e *env) containers() []engine.Container {
	e.t.Helper()
	cs, err := e.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: e.stack})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func (e *env) networks() []engine.Network {
	e.t.Helper()
	ns, err := e.eng.ListNetworks(context.Background(), map[string]string{compose.LabelProject: e.stack})
	if err != nil {
		e.t.Fatal(err)
	}
	return ns
}

func (e *env) volumes() []engine.Volume {
	e.t.Helper()
	vs, err := e.eng.ListVolumes(context.Background(), map[string]string{compose.LabelProject: e.stack})
	if err != nil {
		e.t.Fatal(err)
	}
	return vs
}

// running returns name → container for the stack's running containers.
func (e *env) running() map[string]engine.Container {
	out := map[string]engine.Container{}
	for _, c := range e.containers() {
		if c.Running() {
			out[c.Name] = c
		}
	}
	return out
}

// get fetches path from a container's test app over the bridge network.
func (e *env) get(c engine.Container, path string) (string, error) {
	var ip string
	for _, addr := range c.Networks {
		if addr != "" {
			ip = addr
			break
		}
	}
	if ip == "" {
		return "", fmt.Errorf("container %s has no IP", c.Name)
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + ip + ":8080" + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(body)), err
}

// versions returns the version every running container of service answers.
func (e *env) versions(service string) []string {
	e.t.Helper()
	var out []string
	for _, c := range e.containers() {
		if c.Labels[compose.LabelService] != service || !c.Running() {
			continue
		}
		v, err := e.get(c, "/version")
		if err != nil {
			e.t.Fatalf("GET %s/version: %v", c.Name, err)
		}
		out = append(out, v)
	}
	return out
}

type historyEntry struct {
	Number int    `json:"number"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Images map[string]struct {
		Ref string `json:"ref"`
	} `json:"images"`
}

func (e *env) history() []historyEntry {
	e.t.Helper()
	r := e.run("history", e.stack, "-o", "json")
	if r.code != 0 {
		return nil
	}
	var h []historyEntry
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		e.t.Fatalf("history json: %v\n%s", err, r.stdout)
	}
	return h
}

func (e *env) removeContainers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range e.containers() {
		_ = e.eng.RemoveContainer(ctx, c.Name, true)
	}
}

func (e *env) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.removeContainers()
	for _, n := range e.networks() {
		_ = e.eng.RemoveNetwork(ctx, n.Name)
	}
	for _, v := range e.volumes() {
		_ = e.eng.RemoveVolume(ctx, v.Name)
	}
	e.eng.Close()
}

func names(cs map[string]engine.Container) []string {
	out := make([]string, 0, len(cs))
	for n := range cs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
