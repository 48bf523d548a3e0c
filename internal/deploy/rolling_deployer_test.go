package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
)

// rollingStack is stack "hello" rolled by default: web (2 replicas, one at
// a time, start-first) and cache. webUpdate is web's extra update_config
// (a flow mapping body, may be empty) and monitor the stack's window.
func rollingStack(webUpdate, monitor string) string {
	return `name: hello
x-cutover:
  strategy: rolling
  health_timeout: 5s
  rolling: {monitor: ` + monitor + `}
services:
  web:
    image: hello:1
    deploy:
      replicas: 2
      update_config: {` + webUpdate + `}
  cache:
    image: redis:7
    volumes:
      - cachedata:/data
volumes:
  cachedata: {}
`
}

// newRollingHarness is a harness for rollingStack without a monitor window.
func newRollingHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessFor(t, rollingStack("", "0s"))
}

// ids returns the container ID of every container, by name.
func (h *harness) ids() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, name := range h.fake.ContainerNames() {
		out[name] = h.container(name).ID
	}
	return out
}

// events records every event of later deploys.
func (h *harness) events() func() []deploy.Event {
	var mu sync.Mutex
	var got []deploy.Event
	next := h.deployer.Observer
	h.deployer.Observer = deploy.ObserverFunc(func(e deploy.Event) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
		next.Event(e)
	})
	return func() []deploy.Event {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// watchCapacity checks after every step of later deploys that at least n
// web containers run, and returns the fewest seen.
func (h *harness) watchCapacity() func() int {
	var mu sync.Mutex
	fewest := 1 << 30
	h.setOnStep(func(e deploy.Event) {
		if e.Status != "done" {
			return
		}
		cs, err := h.fake.ListContainers(context.Background(), map[string]string{compose.LabelService: "web"})
		if err != nil {
			return
		}
		n := 0
		for _, c := range cs {
			if c.Running() {
				n++
			}
		}
		mu.Lock()
		fewest = min(fewest, n)
		mu.Unlock()
	})
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return fewest
	}
}

// passMonitors makes every monitor window of later deploys pass: the clock
// jumps past it as the step starts.
func (h *harness) passMonitors() {
	h.setOnStep(func(e deploy.Event) {
		if e.Action == "monitor" && e.Status == "started" {
			h.clk.advance(time.Hour)
		}
	})
}

// confirmSteps decodes the confirm steps a release stored.
func confirmSteps(t *testing.T, rel store.Release) []string {
	t.Helper()
	if len(rel.Confirm) == 0 {
		return nil
	}
	var steps []strategies.Step
	if err := json.Unmarshal(rel.Confirm, &steps); err != nil {
		t.Fatalf("release %d confirm steps: %v", rel.Number, err)
	}
	var out []string
	for _, s := range steps {
		out = append(out, string(s.Action)+" "+s.Target())
	}
	return out
}

// awaitRelease2 deploys release 1 (hello:1) and release 2 (web on hello:2),
// which must end awaiting confirmation, and returns release 1's container IDs.
func (h *harness) awaitRelease2() map[string]string {
	h.t.Helper()
	h.mustDeploy(deploy.Request{})
	before := h.ids()
	res, err := h.deploy(h.t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if err != nil {
		h.t.Fatalf("deploy of release 2: %v", err)
	}
	if res.Release.Status != store.StatusAwaitingConfirm {
		h.t.Fatalf("release 2 is %s, want awaiting-confirm", res.Release.Status)
	}
	return before
}

func TestRolling_FirstReleaseIsActive(t *testing.T) {
	h := newRollingHarness(t)
	res := h.mustDeploy(deploy.Request{})
	rel := h.release(1)
	if rel.Strategy != "rolling" || len(res.Plan.Confirm) != 0 || len(rel.Confirm) != 0 {
		t.Errorf("release 1: strategy %q, confirm steps %v: a first release keeps nothing to confirm", rel.Strategy, confirmSteps(t, rel))
	}
	h.checkServing("hello:1")
	h.checkUnlocked()
}

func TestRolling_AwaitsConfirm(t *testing.T) {
	h := newRollingHarness(t)
	h.mustDeploy(deploy.Request{})
	before := h.ids()
	fewest := h.watchCapacity()

	res, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if err != nil {
		t.Fatal(err)
	}
	rel := h.release(2)
	if res.Release.Status != store.StatusAwaitingConfirm || rel.Status != store.StatusAwaitingConfirm {
		t.Fatalf("release 2 is %s (result %s), want awaiting-confirm", rel.Status, res.Release.Status)
	}
	if rel.FinishedAt.IsZero() || !rel.AutoConfirmAt.IsZero() {
		t.Errorf("release 2 finished %v, auto-confirm %v: want finished, no auto-confirm", rel.FinishedAt, rel.AutoConfirmAt)
	}
	if r1 := h.release(1); r1.Status != store.StatusActive {
		t.Errorf("release 1 is %s, want active until release 2 is confirmed", r1.Status)
	}
	want := []string{"remove hello-web-1_old", "remove hello-web-2_old"}
	if got := confirmSteps(t, rel); !slices.Equal(got, want) {
		t.Errorf("stored confirm steps %v, want %v", got, want)
	}
	for i, s := range rel.Steps {
		if s.Status != store.StepDone {
			t.Errorf("journal step %d %s %s is %s", i, s.Action, s.Target, s.Status)
		}
	}

	names := []string{"hello-cache-1", "hello-web-1", "hello-web-1_old", "hello-web-2", "hello-web-2_old"}
	if got := h.fake.ContainerNames(); !slices.Equal(got, names) {
		t.Fatalf("containers %v, want %v", got, names)
	}
	for _, n := range []string{"hello-web-1", "hello-web-2"} {
		if c := h.container(n); c.Image != "hello:2" || !c.Running() || c.Labels[compose.LabelRelease] != "2" {
			t.Errorf("%s runs %s (%s, release %s), want hello:2 running, release 2", n, c.Image, c.State, c.Labels[compose.LabelRelease])
		}
		old := h.container(n + "_old")
		if old.ID != before[n] || old.Running() {
			t.Errorf("%s_old is %s (%s), want release 1's %s, stopped", n, old.ID, old.State, before[n])
		}
	}
	if h.container("hello-cache-1").ID != before["hello-cache-1"] {
		t.Error("the unchanged cache was replaced")
	}
	if n := fewest(); n < 2 {
		t.Errorf("only %d web containers ran at one point of a start-first roll of 2", n)
	}
	h.checkUnlocked()
}

func TestRolling_Confirm(t *testing.T) {
	h := newRollingHarness(t)
	h.awaitRelease2()

	rel, err := h.deployer.Confirm(t.Context(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Status != store.StatusActive || h.release(2).Status != store.StatusActive {
		t.Errorf("release 2 is %s after confirm, want active", rel.Status)
	}
	if r1 := h.release(1); r1.Status != store.StatusSuperseded || r1.Note != "replaced by release 2" {
		t.Errorf("release 1 is %s (%q), want superseded", r1.Status, r1.Note)
	}
	if got := h.release(2).Confirm; len(got) != 0 {
		t.Errorf("release 2 still stores confirm steps %s", got)
	}
	h.checkServing("hello:2")
	h.checkUnlocked()
}

func TestRolling_Rollback(t *testing.T) {
	h := newRollingHarness(t)
	before := h.awaitRelease2()
	fewest := h.watchCapacity()

	rel, err := h.deployer.Rollback(t.Context(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Status != store.StatusRolledBack || rel.Note != "rolled back to release 1" || len(rel.Confirm) != 0 {
		t.Errorf("release 2 is %s (%q, confirm %s), want rolled-back to release 1", rel.Status, rel.Note, rel.Confirm)
	}
	if r1 := h.release(1); r1.Status != store.StatusActive {
		t.Errorf("release 1 is %s, want active", r1.Status)
	}
	h.checkServing("hello:1")
	for name, id := range before {
		if got := h.container(name).ID; got != id {
			t.Errorf("%s is container %s, want release 1's %s back", name, got, id)
		}
	}
	if n := fewest(); n < 2 {
		t.Errorf("only %d web containers ran at one point of a start-first rollback of 2", n)
	}
	h.checkUnlocked()

	// Nothing awaits any more.
	if _, err := h.deployer.Rollback(t.Context(), "hello"); !errors.Is(err, deploy.ErrNothingToDo) {
		t.Errorf("second rollback: %v, want ErrNothingToDo", err)
	}
}

func TestRolling_DeployWhileAwaitingConfirmsFirst(t *testing.T) {
	h := newRollingHarness(t)
	release1 := h.awaitRelease2()
	release2 := h.ids()
	events := h.events()

	res, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.Number != 3 || res.Release.Status != store.StatusAwaitingConfirm {
		t.Fatalf("release %d is %s, want release 3 awaiting-confirm", res.Release.Number, res.Release.Status)
	}
	said := slices.ContainsFunc(events(), func(e deploy.Event) bool {
		return e.Kind == deploy.KindMessage && e.Release == 2 && strings.Contains(e.Message, "release 2 awaited confirmation: confirming it before the next release")
	})
	if !said {
		t.Error("the deploy did not say it confirmed release 2 first")
	}
	if r2 := h.release(2); r2.Status != store.StatusActive {
		t.Errorf("release 2 is %s, want active (confirmed, serving until 3 is confirmed)", r2.Status)
	}
	if r1 := h.release(1); r1.Status != store.StatusSuperseded {
		t.Errorf("release 1 is %s, want superseded", r1.Status)
	}
	names := []string{"hello-cache-1", "hello-web-1", "hello-web-1_old", "hello-web-2", "hello-web-2_old"}
	if got := h.fake.ContainerNames(); !slices.Equal(got, names) {
		t.Fatalf("containers %v, want %v", got, names)
	}
	for _, n := range []string{"hello-web-1", "hello-web-2"} {
		// The confirm removed release 1's containers; release 2's are now the old ones.
		if old := h.container(n + "_old"); old.ID != release2[n] || old.Image != "hello:2" {
			t.Errorf("%s_old is %s (%s), want release 2's %s", n, old.ID, old.Image, release2[n])
		}
		if c := h.container(n); c.ID == release1[n] || c.Image != "hello:1" || c.Labels[compose.LabelRelease] != "3" {
			t.Errorf("%s is %s (%s, release %s), want a new hello:1 container of release 3", n, c.ID, c.Image, c.Labels[compose.LabelRelease])
		}
	}
	h.checkUnlocked()
}

// TestRolling_FailureRollsBack: a new version that never gets ready, or
// crashes inside the monitor window, is undone at once; the release is
// failed with the reason and the previous containers serve again.
func TestRolling_FailureRollsBack(t *testing.T) {
	tests := []struct {
		desc    string
		monitor string
		health  string
		crash   string // container to crash when the monitor starts
		reason  []string
	}{
		{desc: "never ready", monitor: "0s", health: "unhealthy",
			reason: []string{"wait-ready hello-web-1_new", "health check failed: probe failed", "last log lines of hello-web-1_new"}},
		{desc: "exits at once", monitor: "0s", health: "exit",
			reason: []string{"wait-ready hello-web-1_new", "container exited with code 1"}},
		{desc: "crashes inside the monitor window", monitor: "5s", health: "healthy", crash: "hello-web-2",
			reason: []string{"monitor hello-web-1, hello-web-2", "container hello-web-2 exited with code 3 within the 5s monitor window",
				"last log lines of hello-web-2:\nlog of hello-web-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarnessFor(t, rollingStack("", tt.monitor))
			h.passMonitors()
			h.mustDeploy(deploy.Request{})
			before := h.ids()
			h.fake.SetHealth("hello:2", tt.health)
			fewest := h.watchCapacity()
			if tt.crash != "" {
				h.setOnStep(func(e deploy.Event) {
					if e.Action == "monitor" && e.Status == "started" {
						h.fake.UpdateContainer(tt.crash, func(c *engine.Container) { c.State, c.ExitCode = "exited", 3 })
					}
				})
			}

			_, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
			if !errors.Is(err, deploy.ErrDeployFailed) || errors.Is(err, deploy.ErrPaused) {
				t.Fatalf("deploy: %v, want ErrDeployFailed", err)
			}
			rel := h.release(2)
			if rel.Status != store.StatusFailed {
				t.Errorf("release 2 is %s, want failed", rel.Status)
			}
			for _, want := range tt.reason {
				if !strings.Contains(rel.Reason, want) {
					t.Errorf("reason %q does not say %q", rel.Reason, want)
				}
			}
			if r1 := h.release(1); r1.Status != store.StatusActive {
				t.Errorf("release 1 is %s, want active", r1.Status)
			}
			h.checkServing("hello:1")
			for name, id := range before {
				if got := h.container(name).ID; got != id {
					t.Errorf("%s is %s, want release 1's %s back", name, got, id)
				}
			}
			if tt.crash == "" {
				if n := fewest(); n < 2 {
					t.Errorf("only %d web containers ran at one point", n)
				}
			}
			h.checkUnlocked()
		})
	}
}

// TestRolling_MonitorWindowPasses: the release waits out the monitor window.
func TestRolling_MonitorWindowPasses(t *testing.T) {
	h := newHarnessFor(t, rollingStack("", "30s"))
	h.passMonitors()
	h.mustDeploy(deploy.Request{})
	res, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
	if err != nil || res.Release.Status != store.StatusAwaitingConfirm {
		t.Fatalf("deploy: %v (%s), want awaiting-confirm", err, res.Release.Status)
	}
	if !slices.ContainsFunc(h.release(2).Steps, func(s store.Step) bool {
		return s.Action == "monitor" && s.Target == "hello-web-1, hello-web-2" && s.Status == store.StepDone
	}) {
		t.Errorf("journal has no monitor step done: %+v", h.release(2).Steps)
	}
}

// TestRolling_Paused: failure_action pause stops the roll where it failed,
// undoes nothing and leaves the release awaiting a decision; rollback, or
// a new deploy (confirm refuses: nothing of the release took over, see
// TestPaused_ConfirmNothingTookOver), then leave no container of the
// unfinished batch behind.
func TestRolling_Paused(t *testing.T) {
	for _, decision := range []string{"rollback", "deploy again"} {
		t.Run(decision, func(t *testing.T) {
			h := newHarnessFor(t, rollingStack("failure_action: pause", "0s"))
			h.mustDeploy(deploy.Request{})
			before := h.ids()
			h.fake.SetHealth("hello:2", "unhealthy")

			res, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
			var serr *deploy.StepError
			if !errors.Is(err, deploy.ErrPaused) || !errors.As(err, &serr) || errors.Is(err, deploy.ErrDeployFailed) {
				t.Fatalf("deploy: %v, want a paused StepError", err)
			}
			rel := h.release(2)
			if rel.Status != store.StatusAwaitingConfirm || res.Release.Status != store.StatusAwaitingConfirm {
				t.Fatalf("release 2 is %s, want awaiting-confirm", rel.Status)
			}
			if !strings.Contains(rel.Reason, "wait-ready hello-web-1_new") || !strings.Contains(rel.Note, "paused after a failure") {
				t.Errorf("release 2 reason %q note %q: want the failure and the pause", rel.Reason, rel.Note)
			}
			// Paused right where it failed: nothing undone.
			if c := h.container("hello-web-1_new"); c.Image != "hello:2" {
				t.Errorf("hello-web-1_new runs %s", c.Image)
			}
			if c := h.container("hello-web-1"); c.ID != before["hello-web-1"] || !c.Running() {
				t.Errorf("hello-web-1 is %s (%s), want release 1's still running", c.ID, c.State)
			}

			switch decision {
			case "rollback":
				rel, err = h.deployer.Rollback(t.Context(), "hello")
				if err != nil || rel.Status != store.StatusRolledBack {
					t.Fatalf("rollback: %v (%s)", err, rel.Status)
				}
			case "deploy again":
				if res := h.mustDeploy(deploy.Request{}); res.Release.Number != 3 || res.Release.Note != "no changes" {
					t.Errorf("release %d after the paused one: note %q, want release 3, no changes", res.Release.Number, res.Release.Note)
				}
				if rel = h.release(2); rel.Status != store.StatusSuperseded || rel.Reason != "" ||
					!strings.HasPrefix(rel.Note, "replaced by the next release after it paused at: wait-ready hello-web-1_new") {
					t.Errorf("release 2 is %s (note %q, reason %q), want superseded, its note saying where it paused", rel.Status, rel.Note, rel.Reason)
				}
			}
			h.checkServing("hello:1")
			for name, id := range before {
				if got := h.container(name).ID; got != id {
					t.Errorf("%s is %s, want release 1's %s", name, got, id)
				}
			}
			h.checkUnlocked()
		})
	}
}

// TestRollbackTo: release N's recorded images come back as a new release,
// by tag while the tag still names the same image, else by image ID.
func TestRollbackTo(t *testing.T) {
	for _, moved := range []bool{false, true} {
		name := "tag unchanged"
		if moved {
			name = "tag moved"
		}
		t.Run(name, func(t *testing.T) {
			h := newRollingHarness(t)
			h.awaitRelease2()
			if _, err := h.deployer.Confirm(t.Context(), "hello"); err != nil {
				t.Fatal(err)
			}
			wantRef := "hello:1"
			if moved {
				// hello:1 now names another image; release 1's is still here by ID.
				h.fake.AddImage("hello:1", "sha256:hello1-rebuilt")
				h.fake.AddImage("sha256:hello1", "sha256:hello1")
				h.fake.SetHealth("sha256:hello1", "healthy") // the fake's health goes by reference
				wantRef = "sha256:hello1"
			}
			// The stack given is ignored: release 1's spec is what deploys.
			res, err := h.deployer.RollbackTo(t.Context(), "hello", 1, deploy.Request{})
			if err != nil {
				t.Fatal(err)
			}
			rel := h.release(3)
			if res.Release.Number != 3 || rel.Trigger != "rollback --to 1" || rel.Strategy != "rolling" || rel.Status != store.StatusAwaitingConfirm {
				t.Errorf("release 3: trigger %q strategy %q status %s, want rollback --to 1, rolling, awaiting-confirm", rel.Trigger, rel.Strategy, rel.Status)
			}
			if got := rel.Images["web"]; got.Ref != wantRef || got.ID != "sha256:hello1" {
				t.Errorf("release 3 web image %+v, want %s (sha256:hello1)", got, wantRef)
			}
			if got := rel.Images["cache"]; got.Ref != "redis:7" {
				t.Errorf("release 3 cache image %+v, want redis:7", got)
			}
			for _, n := range []string{"hello-web-1", "hello-web-2"} {
				if c := h.container(n); c.ImageID != "sha256:hello1" || c.Image != wantRef {
					t.Errorf("%s runs %s (%s), want release 1's image sha256:hello1 as %s", n, c.Image, c.ImageID, wantRef)
				}
			}
		})
	}
}

func TestRollbackTo_UnknownRelease(t *testing.T) {
	h := newRollingHarness(t)
	h.mustDeploy(deploy.Request{})
	if _, err := h.deployer.RollbackTo(t.Context(), "hello", 7, deploy.Request{}); !errors.Is(err, deploy.ErrBadInput) {
		t.Errorf("RollbackTo(7): %v, want ErrBadInput", err)
	}
}

// deadPID returns the PID of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run a child process: %v", err)
	}
	return cmd.Process.Pid
}

func TestUnlock(t *testing.T) {
	ctx := context.Background()
	newInterrupted := func(t *testing.T, pid int) (*harness, store.Lock) {
		h := newRollingHarness(t)
		h.mustDeploy(deploy.Request{})
		rel, err := h.store.CreateRelease(ctx, store.Release{Stack: "hello", Status: store.StatusDeploying, Strategy: "rolling", Trigger: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		lock, err := h.store.Acquire(ctx, store.Lock{Stack: "hello", Release: rel.Number, PID: pid})
		if err != nil {
			t.Fatal(err)
		}
		return h, lock
	}

	t.Run("stale lock", func(t *testing.T) {
		pid := deadPID(t)
		h, _ := newInterrupted(t, pid)
		// A deploy refuses the stale lock and says so.
		if _, err := h.deploy(ctx, deploy.Request{}); !errors.Is(err, store.ErrStackLocked) {
			t.Fatalf("deploy with a stale lock: %v, want ErrStackLocked", err)
		}
		lock, err := h.deployer.Unlock(ctx, "hello", false)
		if err != nil {
			t.Fatal(err)
		}
		if lock.PID != pid || lock.Release != 2 {
			t.Errorf("cleared lock %+v, want pid %d release 2", lock, pid)
		}
		h.checkUnlocked()
		rel := h.release(2)
		if rel.Status != store.StatusFailed || !strings.Contains(rel.Reason, "interrupted") || rel.FinishedAt.IsZero() {
			t.Errorf("release 2 is %s (%q), want failed as interrupted", rel.Status, rel.Reason)
		}
		if r1 := h.release(1); r1.Status != store.StatusActive {
			t.Errorf("release 1 is %s, want still active", r1.Status)
		}
		// The stack deploys again.
		if res := h.mustDeploy(deploy.Request{}); res.Release.Number != 3 {
			t.Errorf("next release is %d, want 3", res.Release.Number)
		}
	})

	t.Run("live lock", func(t *testing.T) {
		h, held := newInterrupted(t, os.Getpid())
		if _, err := h.deployer.Unlock(ctx, "hello", false); !errors.Is(err, deploy.ErrBadInput) || !strings.Contains(err.Error(), "live deploy") {
			t.Fatalf("Unlock of a live lock: %v, want ErrBadInput", err)
		}
		if l, ok, _ := h.store.GetLock(ctx, "hello"); !ok || l.Token != held.Token {
			t.Error("the live lock was cleared without force")
		}
		if rel := h.release(2); rel.Status != store.StatusDeploying {
			t.Errorf("release 2 is %s, want still deploying", rel.Status)
		}
		if _, err := h.deployer.Unlock(ctx, "hello", true); err != nil {
			t.Fatalf("Unlock --force: %v", err)
		}
		h.checkUnlocked()
		if rel := h.release(2); rel.Status != store.StatusFailed {
			t.Errorf("release 2 is %s after a forced unlock, want failed", rel.Status)
		}
	})

	t.Run("not locked", func(t *testing.T) {
		h := newRollingHarness(t)
		h.mustDeploy(deploy.Request{})
		if _, err := h.deployer.Unlock(ctx, "hello", false); !errors.Is(err, deploy.ErrNothingToDo) {
			t.Errorf("Unlock of an unlocked stack: %v, want ErrNothingToDo", err)
		}
	})
}

func TestConfirmRollback_NothingAwaiting(t *testing.T) {
	h := newRollingHarness(t)
	h.mustDeploy(deploy.Request{})
	n := len(h.fake.Calls())

	_, err := h.deployer.Confirm(t.Context(), "hello")
	if !errors.Is(err, deploy.ErrNothingToDo) || !strings.Contains(err.Error(), "no release of hello awaits confirmation, nothing to confirm (latest is release 1, active)") {
		t.Errorf("Confirm: %v, want ErrNothingToDo saying why", err)
	}
	_, err = h.deployer.Rollback(t.Context(), "hello")
	if !errors.Is(err, deploy.ErrNothingToDo) || !strings.Contains(err.Error(), "cutover rollback --to N") {
		t.Errorf("Rollback: %v, want ErrNothingToDo pointing at rollback --to", err)
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("confirm/rollback with nothing awaiting called the engine: %v", calls)
	}
	if r1 := h.release(1); r1.Status != store.StatusActive {
		t.Errorf("release 1 is %s, want active", r1.Status)
	}
	h.checkUnlocked()

	// An unknown stack is bad input, not "nothing to do".
	if _, err := h.deployer.Confirm(t.Context(), "nope"); !errors.Is(err, deploy.ErrBadInput) {
		t.Errorf("Confirm of an unknown stack: %v, want ErrBadInput", err)
	}
}
