package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/internal/store"
)

// stackFile is stack "hello": web (2 replicas) and cache (with a named volume).
const stackFile = `name: hello
x-cutover:
  health_timeout: 5s
services:
  web:
    image: hello:1
    deploy:
      replicas: 2
  cache:
    image: redis:7
    volumes:
      - cachedata:/data
volumes:
  cachedata: {}
`

// clock is a test clock. With step 0 it stands still: a container without
// a healthcheck never reaches min_ready, so tests decide readiness with
// SetHealth. With a step, every reading moves it on.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newClock(step time.Duration) *clock {
	return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), step: step}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

type harness struct {
	t        *testing.T
	clk      *clock
	fake     *enginetest.Fake
	store    *store.Store
	deployer *deploy.Deployer
	stack    *compose.Stack

	mu     sync.Mutex
	onStep func(deploy.Event)
}

// newHarness is a fake engine holding hello:1, hello:2 and redis:7 (all
// healthy once started), a real store in a temp dir, and stack "hello".
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessFor(t, stackFile)
}

// newHarnessFor is newHarness with another compose file for stack "hello".
func newHarnessFor(t *testing.T, stackFile string) *harness {
	t.Helper()
	dir := t.TempDir()
	clk := newClock(0)
	st, err := store.Open(filepath.Join(dir, "state"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(stackFile), 0o600); err != nil {
		t.Fatal(err)
	}
	stack, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(clk.Now)
	for ref, id := range map[string]string{"hello:1": "sha256:hello1", "hello:2": "sha256:hello2", "redis:7": "sha256:redis7"} {
		fake.AddImage(ref, id)
		fake.SetHealth(ref, "healthy")
	}
	h := &harness{t: t, clk: clk, fake: fake, store: st, stack: stack}
	h.deployer = &deploy.Deployer{Engine: fake, Store: st, Now: clk.Now, Poll: 5 * time.Millisecond,
		Observer: deploy.ObserverFunc(h.event)}
	return h
}

func (h *harness) event(e deploy.Event) {
	h.mu.Lock()
	fn := h.onStep
	h.mu.Unlock()
	if fn != nil && e.Kind == deploy.KindStep {
		fn(e)
	}
}

// setOnStep calls fn with every step event of later deploys.
func (h *harness) setOnStep(fn func(deploy.Event)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onStep = fn
}

func (h *harness) deploy(ctx context.Context, req deploy.Request) (deploy.Result, error) {
	h.t.Helper()
	if req.Stack == nil {
		req.Stack = h.stack
	}
	return h.deployer.Deploy(ctx, req)
}

// mustDeploy deploys and fails the test unless the release becomes active.
func (h *harness) mustDeploy(req deploy.Request) deploy.Result {
	h.t.Helper()
	res, err := h.deploy(h.t.Context(), req)
	if err != nil {
		h.t.Fatalf("deploy: %v", err)
	}
	if res.Release.Status != store.StatusActive {
		h.t.Fatalf("release %d is %s, want active", res.Release.Number, res.Release.Status)
	}
	return res
}

func (h *harness) release(n int) store.Release {
	h.t.Helper()
	rel, err := h.store.GetRelease(context.Background(), "hello", n)
	if err != nil {
		h.t.Fatal(err)
	}
	return rel
}

func (h *harness) releaseCount() int {
	h.t.Helper()
	rels, err := h.store.ListReleases(context.Background(), "hello")
	if errors.Is(err, store.ErrStackNotFound) {
		return 0
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return len(rels)
}

// container returns a container that must exist.
func (h *harness) container(name string) engine.Container {
	h.t.Helper()
	c, ok := h.fake.Container(name)
	if !ok {
		h.t.Fatalf("container %s does not exist (containers: %v)", name, h.fake.ContainerNames())
	}
	return c
}

// checkServing checks that exactly the stack's compose-named containers
// exist, all running, and that web runs image.
func (h *harness) checkServing(webImage string) {
	h.t.Helper()
	want := []string{"hello-cache-1", "hello-web-1", "hello-web-2"}
	if got := h.fake.ContainerNames(); !slices.Equal(got, want) {
		h.t.Errorf("containers %v, want %v", got, want)
	}
	for _, name := range want {
		c := h.container(name)
		if !c.Running() {
			h.t.Errorf("%s is %s, want running", name, c.State)
		}
		if strings.HasPrefix(name, "hello-web-") && c.Image != webImage {
			h.t.Errorf("%s runs %s, want %s", name, c.Image, webImage)
		}
	}
}

func (h *harness) checkUnlocked() {
	h.t.Helper()
	if l, held, err := h.store.GetLock(context.Background(), "hello"); err != nil || held {
		h.t.Errorf("lock of hello after the deploy: %+v held=%t err=%v", l, held, err)
	}
}

// callsSince returns the engine calls made after the first n.
func (h *harness) callsSince(n int) []string { return h.fake.Calls()[n:] }

func hasCall(calls []string, prefix string) bool {
	return slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

func TestDeploy_FirstRelease(t *testing.T) {
	h := newHarness(t)
	res := h.mustDeploy(deploy.Request{})

	rel := h.release(1)
	if rel.Status != store.StatusActive || rel.Strategy != "recreate" || rel.Trigger != "cli" {
		t.Errorf("release 1: status %s strategy %q trigger %q, want active recreate cli", rel.Status, rel.Strategy, rel.Trigger)
	}
	if rel.StartedAt.IsZero() || rel.FinishedAt.IsZero() || rel.LogFile == "" {
		t.Errorf("release 1: started %v finished %v log %q: not recorded", rel.StartedAt, rel.FinishedAt, rel.LogFile)
	}
	wantImages := map[string]store.ImageRef{
		"web":   {Ref: "hello:1", ID: "sha256:hello1"},
		"cache": {Ref: "redis:7", ID: "sha256:redis7"},
	}
	for svc, want := range wantImages {
		if got := rel.Images[svc]; got != want {
			t.Errorf("release 1 image of %s: %+v, want %+v", svc, got, want)
		}
	}
	if !strings.Contains(string(rel.Spec), `"hello:1"`) {
		t.Errorf("release 1 spec does not pin web's image: %s", rel.Spec)
	}

	// Every plan step is journaled, in order, and done.
	if len(rel.Steps) != len(res.Plan.Steps) {
		t.Fatalf("journal has %d steps, plan has %d:\n%s", len(rel.Steps), len(res.Plan.Steps), res.Plan)
	}
	for i, s := range rel.Steps {
		p := res.Plan.Steps[i]
		if s.Action != string(p.Action) || s.Target != p.Target() || s.Status != store.StepDone {
			t.Errorf("journal step %d: %s %s %s, want %s %s done", i, s.Action, s.Target, s.Status, p.Action, p.Target())
		}
	}

	h.checkServing("hello:1")
	web2 := h.container("hello-web-2")
	for label, want := range map[string]string{compose.LabelProject: "hello", compose.LabelService: "web",
		compose.LabelNumber: "2", compose.LabelRelease: "1", compose.LabelImage: "sha256:hello1"} {
		if got := web2.Labels[label]; got != want {
			t.Errorf("hello-web-2 label %s = %q, want %q", label, got, want)
		}
	}
	nets, _ := h.fake.ListNetworks(t.Context(), nil)
	vols, _ := h.fake.ListVolumes(t.Context(), nil)
	if len(nets) != 1 || nets[0].Name != "hello_default" || len(vols) != 1 || vols[0].Name != "hello_cachedata" {
		t.Errorf("networks %v volumes %v, want hello_default and hello_cachedata", nets, vols)
	}
	h.checkUnlocked()
}

func TestDeploy_ChangedImage(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	cacheID := h.container("hello-cache-1").ID
	n := len(h.fake.Calls())

	res := h.mustDeploy(deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if res.Release.Number != 2 {
		t.Fatalf("second deploy made release %d", res.Release.Number)
	}
	if r1 := h.release(1); r1.Status != store.StatusSuperseded {
		t.Errorf("release 1 is %s, want superseded", r1.Status)
	}
	if r2 := h.release(2); r2.Images["web"].Ref != "hello:2" || r2.Images["cache"].Ref != "redis:7" {
		t.Errorf("release 2 images %+v", r2.Images)
	}
	h.checkServing("hello:2")
	if c := h.container("hello-web-1"); c.Labels[compose.LabelRelease] != "2" {
		t.Errorf("hello-web-1 carries release %q, want 2", c.Labels[compose.LabelRelease])
	}
	if id := h.container("hello-cache-1").ID; id != cacheID {
		t.Errorf("cache was replaced (container %s, was %s) though it did not change", id, cacheID)
	}
	if calls := h.callsSince(n); hasCall(calls, "create hello-cache") || hasCall(calls, "stop hello-cache") {
		t.Errorf("the unchanged cache service was touched: %v", calls)
	}
	h.checkUnlocked()
}

func TestDeploy_NoChanges(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	n := len(h.fake.Calls())

	res := h.mustDeploy(deploy.Request{})
	if !res.Plan.Empty() || res.Release.Note != "no changes" {
		t.Errorf("redeploying the same stack: note %q, plan:\n%s", res.Release.Note, res.Plan)
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("a deploy with no changes called the engine: %v", calls)
	}
	h.checkServing("hello:1")
}

// TestDeploy_NewReleaseNeverReady: the new containers fail their health gate
// or exit; the release fails, and the previous release's very containers
// serve again under their compose names.
func TestDeploy_NewReleaseNeverReady(t *testing.T) {
	tests := []struct {
		desc   string
		health string
		reason string
	}{
		{desc: "unhealthy", health: "unhealthy", reason: "health check failed: probe failed"},
		{desc: "exits at once", health: "exit", reason: "container exited with code 1"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarness(t)
			h.mustDeploy(deploy.Request{})
			before := map[string]string{}
			for _, name := range h.fake.ContainerNames() {
				before[name] = h.container(name).ID
			}
			h.fake.SetHealth("hello:2", tt.health)

			res, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
			if !errors.Is(err, deploy.ErrDeployFailed) {
				t.Fatalf("deploy error %v, want one wrapping ErrDeployFailed", err)
			}
			var serr *deploy.StepError
			if !errors.As(err, &serr) || serr.UndoErr != nil {
				t.Errorf("error %v: want a *StepError with a clean undo", err)
			}
			rel := h.release(2)
			if rel.Status != store.StatusFailed || res.Release.Status != store.StatusFailed {
				t.Errorf("release 2 is %s (result %s), want failed", rel.Status, res.Release.Status)
			}
			for _, want := range []string{"wait-ready hello-web-1", tt.reason, "last log lines of hello-web-1", "log of hello-web-1"} {
				if !strings.Contains(rel.Reason, want) {
					t.Errorf("reason %q does not say %q", rel.Reason, want)
				}
			}
			if r1 := h.release(1); r1.Status != store.StatusActive {
				t.Errorf("release 1 is %s, want still active", r1.Status)
			}

			h.checkServing("hello:1")
			for name, id := range before {
				if got := h.container(name).ID; got != id {
					t.Errorf("%s is container %s, want the old %s back", name, got, id)
				}
			}
			if !slices.ContainsFunc(rel.Steps, func(s store.Step) bool {
				return s.Action == "wait-ready" && s.Status == store.StepFailed
			}) {
				t.Errorf("journal has no failed wait-ready step: %+v", rel.Steps)
			}
			h.checkUnlocked()
		})
	}
}

func TestDeploy_FirstReleaseFailsRemovesWhatItCreated(t *testing.T) {
	h := newHarness(t)
	h.fake.SetHealth("hello:1", "unhealthy")

	_, err := h.deploy(t.Context(), deploy.Request{})
	if !errors.Is(err, deploy.ErrDeployFailed) {
		t.Fatalf("deploy error %v, want one wrapping ErrDeployFailed", err)
	}
	if rel := h.release(1); rel.Status != store.StatusFailed {
		t.Errorf("release 1 is %s, want failed", rel.Status)
	}
	nets, _ := h.fake.ListNetworks(t.Context(), nil)
	vols, _ := h.fake.ListVolumes(t.Context(), nil)
	if names := h.fake.ContainerNames(); len(names) != 0 || len(nets) != 0 || len(vols) != 0 {
		t.Errorf("left behind: containers %v networks %v volumes %v", names, nets, vols)
	}
}

func TestDeploy_CreateFailureStopsNothing(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	n := len(h.fake.Calls())
	h.fake.FailOn("create hello-web-2_new", errors.New("invalid mount config"))

	_, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if !errors.Is(err, deploy.ErrDeployFailed) {
		t.Fatalf("deploy error %v, want one wrapping ErrDeployFailed", err)
	}
	calls := h.callsSince(n)
	if hasCall(calls, "stop ") {
		t.Errorf("a failed create stopped containers: %v", calls)
	}
	if !slices.Contains(calls, "remove hello-web-1_new") {
		t.Errorf("the container created before the failure was not removed: %v", calls)
	}
	if rel := h.release(2); rel.Status != store.StatusFailed || !strings.Contains(rel.Reason, "invalid mount config") {
		t.Errorf("release 2: %s %q", rel.Status, rel.Reason)
	}
	h.checkServing("hello:1")
}

func TestDeploy_PullFailure(t *testing.T) {
	h := newHarness(t)

	_, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:9"}})
	if !errors.Is(err, deploy.ErrDeployFailed) {
		t.Fatalf("deploy error %v, want one wrapping ErrDeployFailed", err)
	}
	rel := h.release(1)
	if rel.Status != store.StatusFailed {
		t.Errorf("release 1 is %s, want failed", rel.Status)
	}
	for _, want := range []string{"service web", "hello:9", "pull access denied"} {
		if !strings.Contains(rel.Reason, want) {
			t.Errorf("reason %q does not say %q", rel.Reason, want)
		}
	}
	calls := h.fake.Calls()
	if !slices.Contains(calls, "pull hello:9") || hasCall(calls, "create") {
		t.Errorf("calls %v: want a pull of hello:9 and nothing created", calls)
	}
	if names := h.fake.ContainerNames(); len(names) != 0 {
		t.Errorf("containers %v after a failed pull", names)
	}
	h.checkUnlocked()
}

// TestDeploy_BadInput: a wrong request changes nothing and records nothing.
func TestDeploy_BadInput(t *testing.T) {
	tests := []struct {
		desc string
		req  deploy.Request
		says string
	}{
		{desc: "unknown service in images", req: deploy.Request{Images: map[string]string{"api": "hello:2"}}, says: `no service "api"`},
		{desc: "empty image reference", req: deploy.Request{Images: map[string]string{"web": ""}}, says: "empty image reference"},
		{desc: "unknown strategy", req: deploy.Request{Strategy: "sideways"}, says: `unknown strategy "sideways"`},
		{desc: "canary without steps", req: deploy.Request{Strategy: "canary"}, says: "x-cutover.canary.steps is empty"},
		{desc: "blue-green without a routed service", req: deploy.Request{Strategy: "bluegreen"}, says: "no service of hello is routed"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.deploy(t.Context(), tt.req)
			if !errors.Is(err, deploy.ErrBadInput) {
				t.Fatalf("deploy error %v, want one wrapping ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if _, err := h.store.GetStack(t.Context(), "hello"); !errors.Is(err, store.ErrStackNotFound) {
				t.Errorf("the stack was recorded after bad input (GetStack: %v)", err)
			}
			if calls := h.fake.Calls(); len(calls) != 0 {
				t.Errorf("bad input reached the engine: %v", calls)
			}
		})
	}
}

func TestDeploy_DryRun(t *testing.T) {
	h := newHarness(t)

	res, err := h.deploy(t.Context(), deploy.Request{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || res.Plan == nil || res.Release.Number != 1 {
		t.Fatalf("dry run result: %+v", res)
	}
	if plan := res.Plan.String(); !strings.Contains(plan, "create         hello-web-1_new (image hello:1): new replica 1") {
		t.Errorf("dry-run plan:\n%s", plan)
	}
	if _, err := h.store.GetStack(t.Context(), "hello"); !errors.Is(err, store.ErrStackNotFound) {
		t.Errorf("a dry run recorded the stack (GetStack: %v)", err)
	}
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Errorf("a dry run called the engine: %v", calls)
	}

	// After release 1, a dry run plans release 2 and records nothing.
	h.mustDeploy(deploy.Request{})
	n := len(h.fake.Calls())
	res, err = h.deploy(t.Context(), deploy.Request{DryRun: true, Images: map[string]string{"web": "hello:2"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.Number != 2 || !strings.Contains(res.Plan.String(), "image changed: hello:1 → hello:2") {
		t.Errorf("dry run of release %d:\n%s", res.Release.Number, res.Plan)
	}
	if got := h.releaseCount(); got != 1 {
		t.Errorf("%d releases after a dry run, want 1", got)
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("a dry run called the engine: %v", calls)
	}
	h.checkServing("hello:1")
}

func TestDeploy_StackLocked(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	held, err := h.store.Acquire(t.Context(), store.Lock{Stack: "hello", Release: 7})
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.fake.Calls())
	events := h.events()

	for _, wait := range []time.Duration{0, 20 * time.Millisecond} {
		_, err = h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}, LockWait: wait})
		if !errors.Is(err, store.ErrStackLocked) {
			t.Fatalf("lock wait %s: deploy error %v, want one wrapping store.ErrStackLocked", wait, err)
		}
	}
	// With --lock-wait the user is told what the deploy waits for.
	var said []string
	for _, e := range events() {
		if e.Kind == deploy.KindMessage {
			said = append(said, e.Message)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0], "being deployed by release 7") || !strings.Contains(said[0], "waiting up to 20ms for it (--lock-wait)") {
		t.Errorf("messages %q, want one saying the deploy waits up to 20ms for release 7", said)
	}
	if got := h.releaseCount(); got != 1 {
		t.Errorf("%d releases after a locked deploy, want 1", got)
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("a locked deploy called the engine: %v", calls)
	}
	// The other holder still has its lock.
	if l, ok, err := h.store.GetLock(t.Context(), "hello"); err != nil || !ok || l.Token != held.Token {
		t.Errorf("lock after the refused deploy: %+v held=%t err=%v", l, ok, err)
	}
}

func TestDeploy_CancelledWhileWaitingReady(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	// hello:2 has no healthcheck and the clock stands still: it never
	// reaches min_ready, so the deploy waits until it is cancelled.
	h.fake.SetHealth("hello:2", "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h.setOnStep(func(e deploy.Event) {
		if e.Action == "wait-ready" && e.Target == "hello-web-1" && e.Status == "started" {
			cancel()
		}
	})

	_, err := h.deploy(ctx, deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if !errors.Is(err, deploy.ErrAborted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("deploy error %v, want one wrapping ErrAborted and context.Canceled", err)
	}
	if rel := h.release(2); rel.Status != store.StatusAborted || rel.Reason != "cancelled, during wait-ready hello-web-1" {
		t.Errorf("release 2 is %s (%q), want aborted (cancelled, during wait-ready hello-web-1)", rel.Status, rel.Reason)
	}
	if r1 := h.release(1); r1.Status != store.StatusActive {
		t.Errorf("release 1 is %s, want still active", r1.Status)
	}
	h.checkServing("hello:1")
	h.checkUnlocked()
}

// TestDeploy_RunLogUnavailable: when the run's log file cannot be opened the
// release is recorded, so it must end as failed, not stay pending.
func TestDeploy_RunLogUnavailable(t *testing.T) {
	h := newHarness(t)
	// A file where the logs directory should be.
	if err := os.WriteFile(filepath.Join(h.store.Dir(), "logs"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := h.deploy(t.Context(), deploy.Request{})
	if !errors.Is(err, deploy.ErrDeployFailed) {
		t.Errorf("deploy error %v, want one wrapping ErrDeployFailed", err)
	}
	rel := h.release(1)
	if rel.Status != store.StatusFailed || !strings.Contains(rel.Reason, "creating log dir") {
		t.Errorf("release 1 is %s (%q), want failed saying why", rel.Status, rel.Reason)
	}
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Errorf("the deploy went on without its log: %v", calls)
	}
	h.checkUnlocked()
}

// TestDeploy_InterruptedDeployLeftovers: containers left under temporary
// names by an interrupted deploy are removed and the stack converges.
func TestDeploy_InterruptedDeployLeftovers(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	ctx := t.Context()
	// Release 2 died after renaming hello-web-2 away and creating its new
	// container.
	if err := h.fake.StopContainer(ctx, "hello-web-2", nil); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.RenameContainer(ctx, "hello-web-2", "hello-web-2_old"); err != nil {
		t.Fatal(err)
	}
	spec := engine.ContainerSpec{Name: "hello-web-2_new", Image: "hello:2", Labels: map[string]string{}}
	for k, v := range h.container("hello-web-1").Labels {
		spec.Labels[k] = v
	}
	spec.Labels[compose.LabelNumber], spec.Labels[compose.LabelRelease] = "2", "2"
	if _, err := h.fake.CreateContainer(ctx, spec); err != nil {
		t.Fatal(err)
	}

	res := h.mustDeploy(deploy.Request{})
	plan := res.Plan.String()
	for _, want := range []string{"remove         hello-web-2_old: leftover", "remove         hello-web-2_new: leftover of interrupted release 2",
		"create         hello-web-2_new (image hello:1): new replica 2"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not say %q:\n%s", want, plan)
		}
	}
	h.checkServing("hello:1")
}

// TestDeploy_TakesOverFromDockerCompose: containers `docker compose up`
// made (no cutover hash) are replaced, and a service no longer in the file
// is stopped and removed.
func TestDeploy_TakesOverFromDockerCompose(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	for _, c := range []struct{ name, service, number, image string }{
		{"hello-web-1", "web", "1", "hello:1"},
		{"hello-cache-1", "cache", "1", "redis:7"},
		{"hello-worker-1", "worker", "1", "hello:1"},
	} {
		spec := engine.ContainerSpec{Name: c.name, Image: c.image, Labels: map[string]string{
			compose.LabelProject: "hello", compose.LabelService: c.service, compose.LabelNumber: c.number, compose.LabelOneoff: "False",
		}}
		if _, err := h.fake.CreateContainer(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if err := h.fake.StartContainer(ctx, c.name); err != nil {
			t.Fatal(err)
		}
	}

	res := h.mustDeploy(deploy.Request{})
	plan := res.Plan.String()
	for _, want := range []string{"create         hello-web-1_new (image hello:1): not created by cutover",
		"create         hello-web-2_new (image hello:1): new replica 2", "stop           hello-worker-1: service no longer in the stack",
		"remove         hello-worker-1: service no longer in the stack"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not say %q:\n%s", want, plan)
		}
	}
	h.checkServing("hello:1")
	if c := h.container("hello-web-1"); c.Labels[compose.LabelConfigHash] == "" || c.Labels[compose.LabelRelease] != "1" {
		t.Errorf("hello-web-1 was not replaced by cutover's: labels %v", c.Labels)
	}
}

// min_ready counts from when the wait began, not from a StartedAt the
// engine reported late: on a loaded host a start call can return seconds
// after the container started, before an app that exits on start got to
// exit. Such a container must not pass as ready at once.
func TestDeploy_MinReadyCountsFromTheWait(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	h.fake.SetHealth("hello:2", "") // no healthcheck: ready after min_ready
	var mu sync.Mutex
	readyDone := false
	var once sync.Once
	watched := make(chan struct{})
	h.setOnStep(func(e deploy.Event) {
		switch {
		case e.Action == "start" && e.Target == "hello-web-1" && e.Status == "done":
			h.clk.advance(10 * time.Second) // the engine took 10 s to say it started
		case e.Action == "wait-ready" && e.Target == "hello-web-1" && e.Status == "done":
			mu.Lock()
			readyDone = true
			mu.Unlock()
		case e.Action == "wait-ready" && e.Target == "hello-web-1" && e.Status == "started":
			// Once: the undo waits for the old hello-web-1 too.
			once.Do(func() {
				go func() {
					defer close(watched)
					time.Sleep(100 * time.Millisecond) // 20 polls; the clock stands still
					mu.Lock()
					early := readyDone
					mu.Unlock()
					if early {
						t.Error("hello-web-1 passed as ready before it ran min_ready under watch")
					}
					h.fake.UpdateContainer("hello-web-1", func(c *engine.Container) { c.State, c.ExitCode = "exited", 1 })
				}()
			})
		}
	})
	defer func() {
		select {
		case <-watched:
		case <-time.After(5 * time.Second): // the wait never began: the checks below say so
		}
	}()
	// Passed as ready at once, the deploy would go on to hello-web-2,
	// which the still clock never lets reach min_ready: bound the wait.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err := h.deploy(ctx, deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if !errors.Is(err, deploy.ErrDeployFailed) || !strings.Contains(err.Error(), "exited with code 1") {
		t.Fatalf("deploy error %v, want a failed release: the container exited before min_ready", err)
	}
	h.checkServing("hello:1")
}

// Rolling back while a release is still deploying has nothing awaiting
// confirmation to undo: the refusal says how to stop that release.
func TestRollback_WhileDeployingPointsToAbort(t *testing.T) {
	h := newHarness(t)
	h.mustDeploy(deploy.Request{})
	h.fake.SetHealth("hello:2", "") // never ready: the still clock holds it in wait-ready
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	refused := make(chan error, 1)
	var once sync.Once
	h.setOnStep(func(e deploy.Event) {
		if e.Action == "wait-ready" && e.Status == "started" {
			once.Do(func() {
				go func() {
					_, err := h.deployer.Rollback(t.Context(), "hello")
					refused <- err
					cancel()
				}()
			})
		}
	})
	_, _ = h.deploy(ctx, deploy.Request{Images: map[string]string{"web": "hello:2"}})
	err := <-refused
	if !errors.Is(err, deploy.ErrNothingToDo) || !strings.Contains(err.Error(), "cutover abort hello") {
		t.Errorf("rollback during a deploy: %v; want a refusal pointing to cutover abort hello", err)
	}
}
