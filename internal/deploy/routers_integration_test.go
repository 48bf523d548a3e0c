package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// routerEnv is a stack on the real engine whose traffic a router of the
// mux (nginx, dns) moves, deployed the way the CLI deploys without a
// daemon: a Deployer whose Router is a RouterMux.
type routerEnv struct {
	t      *testing.T
	eng    *docker.Engine
	store  *store.Store
	mux    *deploy.RouterMux
	d      *deploy.Deployer
	stack  string
	file   string
	images map[string]string // version → ref

	mu     sync.Mutex
	events []deploy.Event
}

// newRouterEnv builds images v1 and v2 and writes the stack's compose file
// from yaml(stack, v1 image). Start the servers the stack needs before
// calling it, so that its cleanup (down) runs before theirs.
func newRouterEnv(t *testing.T, prefix string, mc deploy.MuxConfig, yaml func(stack, image string) string) *routerEnv {
	t.Helper()
	builder := testimage.ForTest(t)
	eng, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker engine: %v", err)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	mc.Store = st
	e := &routerEnv{t: t, eng: eng, store: st, mux: deploy.NewRouterMux(mc), stack: prefix + suffix, images: map[string]string{}}
	e.d = &deploy.Deployer{Engine: eng, Store: st, Router: e.mux, Poll: 50 * time.Millisecond,
		Observer: deploy.ObserverFunc(func(ev deploy.Event) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.events = append(e.events, ev)
		})}
	for _, v := range []string{"v1", "v2"} {
		ref := "cutover-" + prefix + "-" + suffix + ":" + v
		builder.BuildForTest(t, testimage.Options{Tag: ref, Version: v})
		e.images[v] = ref
	}
	dir := filepath.Join(t.TempDir(), e.stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.file = filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(e.file, []byte(yaml(e.stack, e.images["v1"])), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := e.d.Down(ctx, e.stack, true); err != nil && !errors.Is(err, deploy.ErrBadInput) {
			t.Errorf("cleanup: down: %v", err)
		}
		e.store.Close()
		eng.Close()
	})
	return e
}

// load reads the stack's compose file as the CLI does.
func (e *routerEnv) load() *compose.Stack {
	e.t.Helper()
	st, err := compose.Load(e.t.Context(), compose.LoadOptions{Files: []string{e.file}, Env: os.Environ()})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *routerEnv) deploy(version string) (deploy.Result, error) {
	e.t.Helper()
	st := e.load()
	ctx, cancel := context.WithTimeout(e.t.Context(), 3*time.Minute)
	defer cancel()
	return e.d.Deploy(ctx, deploy.Request{Stack: st, Images: map[string]string{"web": e.images[version]}})
}

func (e *routerEnv) mustDeploy(version string, want store.Status, color string) {
	e.t.Helper()
	res, err := e.deploy(version)
	if err != nil {
		e.t.Fatalf("deploy %s: %v", version, err)
	}
	if res.Release.Status != want || res.Release.Color != color {
		e.t.Fatalf("deploy %s: release %d is %s in %q, want %s in %s", version, res.Release.Number, res.Release.Status, res.Release.Color, want, color)
	}
}

func (e *routerEnv) rollback() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := e.d.Rollback(ctx, e.stack); err != nil {
		e.t.Fatalf("rollback: %v", err)
	}
}

// running lists the running containers of a color project.
func (e *routerEnv) running(color string) []engine.Container {
	e.t.Helper()
	cs, err := e.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: compose.ColorProject(e.stack, color)})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []engine.Container
	for _, c := range cs {
		if c.Running() {
			out = append(out, c)
		}
	}
	return out
}

// messages returns the text of every message event so far.
func (e *routerEnv) messages() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.events {
		if ev.Kind == deploy.KindMessage {
			b.WriteString(ev.Message + "\n")
		}
	}
	return b.String()
}
