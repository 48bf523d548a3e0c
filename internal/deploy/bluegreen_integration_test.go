package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"github.com/cutover/cutover/lb"
)

// bgEnv is a blue-green stack on the real engine behind a real proxy.
type bgEnv struct {
	t      *testing.T
	eng    *docker.Engine
	store  *store.Store
	proxy  *lb.Proxy
	d      *deploy.Deployer
	stack  string
	addr   string // the route's listen address
	file   string
	images map[string]string // version → ref

	mu     sync.Mutex
	onStep func(deploy.Event)
}

func newBGEnv(t *testing.T) *bgEnv {
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
	e := &bgEnv{t: t, eng: eng, store: st, proxy: lb.NewProxy(nil), stack: "bg" + suffix, addr: freeAddr(t), images: map[string]string{}}
	e.d = &deploy.Deployer{Engine: eng, Store: st, Router: e.proxy, Poll: 50 * time.Millisecond,
		Observer: deploy.ObserverFunc(func(ev deploy.Event) {
			e.mu.Lock()
			f := e.onStep
			e.mu.Unlock()
			if f != nil {
				f(ev)
			}
		})}
	for _, v := range []struct {
		version string
		env     map[string]string
	}{{"v1", nil}, {"v2", nil}, {"sick", map[string]string{"TESTAPP_HEALTH": "fail"}}} {
		ref := "cutover-bg-" + suffix + ":" + v.version
		builder.BuildForTest(t, testimage.Options{Tag: ref, Version: v.version, Env: v.env})
		e.images[v.version] = ref
	}
	dir := filepath.Join(t.TempDir(), e.stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.file = filepath.Join(dir, "compose.yaml")
	host, port, _ := net.SplitHostPort(e.addr)
	yaml := fmt.Sprintf(`name: %s
services:
  web:
    image: %s
    ports: ["%s:%s:8080"]
    deploy: {replicas: 2}
    x-cutover:
      route: {health: /healthz, drain_timeout: 10s}
x-cutover:
  strategy: bluegreen
  router: proxy
`, e.stack, e.images["v1"], host, port)
	if err := os.WriteFile(e.file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := e.d.Down(ctx, e.stack, true); err != nil && !errors.Is(err, deploy.ErrBadInput) {
			t.Errorf("cleanup: down: %v", err)
		}
		_ = e.proxy.Close(ctx)
		e.store.Close()
		eng.Close()
	})
	return e
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (e *bgEnv) deploy(version string) (deploy.Result, error) {
	e.t.Helper()
	st, err := compose.Load(e.t.Context(), compose.LoadOptions{Files: []string{e.file}, Env: []string{}})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), 3*time.Minute)
	defer cancel()
	return e.d.Deploy(ctx, deploy.Request{Stack: st, Images: map[string]string{"web": e.images[version]}})
}

// get answers GET path through the proxy: status and body.
func (e *bgEnv) get(path string) (int, string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + e.addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}

func (e *bgEnv) mustServe(version string) {
	e.t.Helper()
	for i := 0; i < 6; i++ { // two replicas, round robin: every answer counts
		code, body, err := e.get("/")
		if err != nil || code != http.StatusOK || body != version {
			e.t.Fatalf("GET / through the proxy: %d %q %v, want 200 %q", code, body, err, version)
		}
	}
}

// colorContainers lists the running containers of a color project.
func (e *bgEnv) colorContainers(color string) []engine.Container {
	e.t.Helper()
	cs, err := e.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: compose.ColorProject(e.stack, color)})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// TestBlueGreen_RealEngine walks a stack through the blue-green lifecycle
// on the real engine behind the real proxy: first deploy, switch with a slow
// request in flight, instant rollback, confirm, and a sick new color that
// never receives traffic.
func TestBlueGreen_RealEngine(t *testing.T) {
	e := newBGEnv(t)

	res, err := e.deploy("v1")
	if err != nil {
		t.Fatalf("release 1: %v", err)
	}
	if res.Release.Status != store.StatusActive || res.Release.Color != "blue" {
		t.Fatalf("release 1: %s in color %q, want active in blue (nothing to keep as standby)", res.Release.Status, res.Release.Color)
	}
	e.mustServe("v1")

	// A slow request starts just before the switch; it must finish with
	// 200 from v1, and the switch must wait for it.
	slow := make(chan string, 1)
	e.mu.Lock()
	e.onStep = func(ev deploy.Event) {
		if ev.Kind == deploy.KindStep && ev.Action == "switch" && ev.Status == "started" {
			go func() {
				code, body, err := e.get("/slow?d=1500ms")
				slow <- fmt.Sprintf("%d %s %v", code, body, err)
			}()
			time.Sleep(200 * time.Millisecond) // the request is in flight on blue
		}
	}
	e.mu.Unlock()
	res, err = e.deploy("v2")
	e.mu.Lock()
	e.onStep = nil
	e.mu.Unlock()
	if err != nil {
		t.Fatalf("release 2: %v", err)
	}
	if res.Release.Status != store.StatusAwaitingConfirm || res.Release.Color != "green" {
		t.Fatalf("release 2: %s in %q, want awaiting-confirm in green", res.Release.Status, res.Release.Color)
	}
	select {
	case got := <-slow:
		if got != "200 v1 <nil>" {
			t.Errorf("slow request in flight during the switch: %s, want 200 v1", got)
		}
	default:
		t.Errorf("the switch returned before the slow request in flight on blue finished (no drain)")
	}
	e.mustServe("v2")
	if n := len(e.colorContainers("blue")); n != 2 {
		t.Errorf("standby: %d blue containers, want 2 kept for an instant rollback", n)
	}

	// Rollback: blue serves again at once; green goes.
	start := time.Now()
	rel, err := e.d.Rollback(t.Context(), e.stack)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	t.Logf("rollback took %s (switch, then green stopped and removed)", time.Since(start).Round(time.Millisecond))
	if rel.Status != store.StatusRolledBack {
		t.Errorf("release 2 after rollback: %s", rel.Status)
	}
	e.mustServe("v1")
	if n := len(e.colorContainers("green")); n != 0 {
		t.Errorf("%d green containers left after the rollback", n)
	}

	// Deploy again and confirm: only the new color remains.
	if _, err := e.deploy("v2"); err != nil {
		t.Fatalf("release 3: %v", err)
	}
	e.mustServe("v2")
	rel, err = e.d.Confirm(t.Context(), e.stack)
	if err != nil || rel.Status != store.StatusActive {
		t.Fatalf("confirm: %v (%s)", err, rel.Status)
	}
	if b, g := len(e.colorContainers("blue")), len(e.colorContainers("green")); b != 0 || g != 2 {
		t.Errorf("after confirm: %d blue and %d green containers, want 0 and 2", b, g)
	}
	e.mustServe("v2")

	// A sick color never gets ready: it is removed, never receives traffic,
	// and green keeps serving throughout.
	stop := make(chan struct{})
	bad := make(chan string, 1)
	go func() {
		defer close(bad)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			code, body, err := e.get("/")
			if err != nil || code != http.StatusOK || body != "v2" {
				bad <- fmt.Sprintf("%d %q %v", code, body, err)
				return
			}
		}
	}()
	e.setHealthTimeout(t, 8*time.Second)
	res, err = e.deploy("sick")
	close(stop)
	if !errors.Is(err, deploy.ErrDeployFailed) || res.Release.Status != store.StatusFailed {
		t.Fatalf("sick release: %v (%s), want a failed release", err, res.Release.Status)
	}
	if got, ok := <-bad; ok {
		t.Errorf("during the sick deploy a client saw %s, want only 200 v2", got)
	}
	if n := len(e.colorContainers("blue")); n != 0 {
		t.Errorf("%d containers of the sick color left", n)
	}
	e.mustServe("v2")
	if !strings.Contains(res.Release.Reason, "wait-ready") {
		t.Errorf("failure reason %q does not say which check failed", res.Release.Reason)
	}
}

// setHealthTimeout shortens how long a new container may take to get ready.
func (e *bgEnv) setHealthTimeout(t *testing.T, d time.Duration) {
	t.Helper()
	data, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "x-cutover:\n  strategy:", fmt.Sprintf("x-cutover:\n  health_timeout: %s\n  strategy:", d), 1)
	if err := os.WriteFile(e.file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBlueGreen_NeedsRouter: without a router (no daemon) a blue-green
// deploy is refused before anything changes.
func TestBlueGreen_NeedsRouter(t *testing.T) {
	e := newBGEnv(t)
	e.d.Router = nil
	_, err := e.deploy("v1")
	if !errors.Is(err, deploy.ErrNoRouter) || !strings.Contains(err.Error(), "cutover serve") {
		t.Fatalf("deploy without a router: %v, want ErrNoRouter saying to start cutover serve", err)
	}
	if _, gerr := e.store.GetStack(t.Context(), e.stack); !errors.Is(gerr, store.ErrStackNotFound) {
		t.Errorf("the stack was recorded although nothing could be deployed (%v)", gerr)
	}
	if n := len(e.colorContainers("blue")); n != 0 {
		t.Errorf("%d containers created", n)
	}
}

// TestRolling_ThroughProxy: with the proxy owning the published port, a
// rolling release runs start-first (impossible on a fixed host port
// otherwise), and a client polling through the proxy during the roll sees
// only 200s, first v1 then v2.
func TestRolling_ThroughProxy(t *testing.T) {
	e := newBGEnv(t)
	data, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.file, []byte(strings.Replace(string(data), "strategy: bluegreen", "strategy: rolling", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	e.mustServe("v1")

	stop := make(chan struct{})
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan []answer, 1)
	go func() {
		var got []answer
		defer func() { answers <- got }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, body, err := e.get("/")
			got = append(got, answer{code, body, err})
		}
	}()
	res, err := e.deploy("v2")
	close(stop)
	got := <-answers
	if err != nil {
		t.Fatalf("release 2: %v", err)
	}
	if res.Release.Status != store.StatusAwaitingConfirm {
		t.Errorf("release 2: %s, want awaiting-confirm", res.Release.Status)
	}
	if res.Plan == nil || !strings.Contains(res.Plan.String(), "route-drain") || strings.Contains(strings.Join(res.Plan.Notes, " "), "stop-first") {
		t.Errorf("plan does not roll start-first through the route:\n%s", res.Plan)
	}
	seenV2 := false
	for i, a := range got {
		if a.err != nil || a.code != http.StatusOK {
			t.Fatalf("request %d of %d during the roll: %d %v", i+1, len(got), a.code, a.err)
		}
		if a.body == "v2" {
			seenV2 = true
		}
	}
	if len(got) < 20 || !seenV2 {
		t.Errorf("%d requests during the roll, v2 seen: %v", len(got), seenV2)
	}
	e.mustServe("v2")
	if _, err := e.d.Confirm(t.Context(), e.stack); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	e.mustServe("v2")
}

// TestBlueGreen_Verify: x-cutover.verify runs on every new container
// before the switch; a failing check fails the release with the check's
// answer and leaves no container behind.
func TestBlueGreen_Verify(t *testing.T) {
	e := newBGEnv(t)
	data, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	withVerify := func(verify string) {
		s := strings.Replace(string(data), "      route: {", "      verify: "+verify+"\n      route: {", 1)
		if err := os.WriteFile(e.file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	withVerify(`{http: "/env?k=NOT_SET"}`)
	res, err := e.deploy("v1")
	if !errors.Is(err, deploy.ErrDeployFailed) || !strings.Contains(res.Release.Reason, "404") || !strings.Contains(res.Release.Reason, "NOT_SET is not set") {
		t.Fatalf("deploy with a failing verify: %v, reason %q; want a failed release quoting the answer", err, res.Release.Reason)
	}
	if n := len(e.colorContainers("blue")); n != 0 {
		t.Errorf("%d containers left after a failed verify", n)
	}
	out := filepath.Join(t.TempDir(), "targets")
	withVerify(fmt.Sprintf(`{http: /version, command: 'echo "$$CUTOVER_TARGET $$CUTOVER_SERVICE" >> %s'}`, out))
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("deploy with a passing verify: %v", err)
	}
	e.mustServe("v1")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "http://") || !strings.HasSuffix(lines[0], ":8080 web") {
		t.Errorf("verify command ran with %q, want one line per new container: http://<ip>:8080 web", lines)
	}
}

// TestBlueGreen_ThenRolling switches a stack from blue-green to rolling
// without losing a request: the rolled containers join the route the
// colors used (the proxy, though x-cutover names no router), the serving
// color drains and stops, a rollback brings it back, and confirm removes it.
func TestBlueGreen_ThenRolling(t *testing.T) {
	e := newBGEnv(t)
	data, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.file, []byte(strings.Replace(string(data), "  router: proxy\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1 (bluegreen): %v", err)
	}
	e.mustServe("v1")

	rolling := func(version string) {
		t.Helper()
		st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{e.file}, Env: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		failures := make(chan []string, 1)
		go func() {
			var bad []string
			defer func() { failures <- bad }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, body, err := e.get("/"); err != nil || code != http.StatusOK {
					bad = append(bad, fmt.Sprintf("%d %q %v", code, body, err))
				}
			}
		}()
		res, err := e.d.Deploy(t.Context(), deploy.Request{Stack: st, Strategy: "rolling", Images: map[string]string{"web": e.images[version]}})
		close(stop)
		if bad := <-failures; len(bad) > 0 {
			t.Errorf("%d failed requests while rolling %s over blue-green, first: %s", len(bad), version, bad[0])
		}
		if err != nil {
			t.Fatalf("rolling %s: %v", version, err)
		}
		if res.Release.Status != store.StatusAwaitingConfirm {
			t.Fatalf("rolling %s: %s, want awaiting-confirm", version, res.Release.Status)
		}
	}
	running := func(color string) int {
		n := 0
		for _, c := range e.colorContainers(color) {
			if c.State == "running" {
				n++
			}
		}
		return n
	}

	rolling("v2")
	e.mustServe("v2")
	if n := running("blue"); n != 0 {
		t.Errorf("%d containers of color blue still run after rolling release 2", n)
	}
	if _, err := e.d.Rollback(t.Context(), e.stack); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	e.mustServe("v1")
	if n := running("blue"); n != 2 {
		t.Errorf("%d containers of color blue run after the rollback, want 2", n)
	}

	rolling("v2")
	if _, err := e.d.Confirm(t.Context(), e.stack); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	e.mustServe("v2")
	if cs := e.colorContainers("blue"); len(cs) != 0 {
		t.Errorf("%d containers of color blue left after confirm", len(cs))
	}
	st, err := e.store.GetStack(t.Context(), e.stack)
	if err != nil || st.Strategy != "rolling" {
		t.Errorf("stack record: strategy %q %v, want rolling", st.Strategy, err)
	}
}
