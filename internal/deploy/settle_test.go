package deploy_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
)

// failedSteps returns the step events that failed.
func failedSteps(events []deploy.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == deploy.KindStep && e.Status == "failed" {
			out = append(out, e.Action+" "+e.Target+": "+e.Error)
		}
	}
	return out
}

// pausedHarness is a rolling harness whose release 2 (web on hello:2)
// paused: at hello-web-1_new's health gate, or with sickAt
// "hello-web-2_new", after hello-web-1 was replaced.
func pausedHarness(t *testing.T, sickAt string) *harness {
	t.Helper()
	h := newHarnessFor(t, rollingStack("failure_action: pause", "0s"))
	h.mustDeploy(deploy.Request{})
	h.setOnStep(func(e deploy.Event) {
		if e.Action == "wait-ready" && e.Target == sickAt && e.Status == "started" {
			h.fake.UpdateContainer(sickAt, func(c *engine.Container) { c.Health, c.HealthOutput = "unhealthy", "probe failed" })
		}
	})
	if sickAt == "hello-web-1_new" {
		h.fake.SetHealth("hello:2", "unhealthy")
	}
	_, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:2"}})
	h.setOnStep(nil)
	if !errors.Is(err, deploy.ErrPaused) {
		t.Fatalf("release 2: %v, want paused", err)
	}
	if rel := h.release(2); rel.Status != store.StatusAwaitingConfirm || !strings.Contains(rel.Reason, "wait-ready "+sickAt) {
		t.Fatalf("release 2 is %s (%q), want awaiting-confirm, paused at %s", rel.Status, rel.Reason, sickAt)
	}
	return h
}

// Confirming a paused release of which nothing took over would record as
// active a release none of whose containers run: it is refused as bad
// input (exit 2), saying what to do, and changes nothing.
func TestPaused_ConfirmNothingTookOver(t *testing.T) {
	h := pausedHarness(t, "hello-web-1_new")
	n := len(h.fake.Calls())

	_, err := h.deployer.Confirm(t.Context(), "hello")
	if !errors.Is(err, deploy.ErrBadInput) {
		t.Fatalf("confirm: %v, want ErrBadInput", err)
	}
	for _, want := range []string{"release 2 of hello paused before any of its containers took over", "cutover rollback hello", "deploy again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("confirm error %q does not say %q", err, want)
		}
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("a refused confirm called the engine: %v", calls)
	}
	if rel := h.release(2); rel.Status != store.StatusAwaitingConfirm {
		t.Errorf("release 2 is %s after the refused confirm, want still awaiting-confirm", rel.Status)
	}
	if r1 := h.release(1); r1.Status != store.StatusActive {
		t.Errorf("release 1 is %s, want active", r1.Status)
	}
	h.checkUnlocked()
}

// Confirming a paused release that replaced some containers keeps what it
// replaced, removes only what exists (no failed step for the <name>_old of
// a replica it never reached) and records what still runs the earlier
// release.
func TestPaused_ConfirmPartial(t *testing.T) {
	h := pausedHarness(t, "hello-web-2_new")
	events := h.events()

	rel, err := h.deployer.Confirm(t.Context(), "hello")
	if err != nil || rel.Status != store.StatusActive {
		t.Fatalf("confirm: %v (%s)", err, rel.Status)
	}
	if failed := failedSteps(events()); len(failed) != 0 {
		t.Errorf("confirm reported failed steps: %q", failed)
	}
	if got, want := h.fake.ContainerNames(), []string{"hello-cache-1", "hello-web-1", "hello-web-2"}; !slices.Equal(got, want) {
		t.Errorf("containers %v after confirm, want %v", got, want)
	}
	for name, want := range map[string]string{"hello-web-1": "2", "hello-web-2": "1"} {
		if c := h.container(name); c.Labels[compose.LabelRelease] != want || !c.Running() {
			t.Errorf("%s: release %s (%s), want release %s running", name, c.Labels[compose.LabelRelease], c.State, want)
		}
	}
	rel = h.release(2)
	if rel.Reason != "" || !strings.HasPrefix(rel.Note, "confirmed after it paused at: wait-ready hello-web-2_new") ||
		!strings.Contains(rel.Note, "hello-web-2 still runs release 1 (hello:1)") || strings.Contains(rel.Note, "hello-cache-1") {
		t.Errorf("release 2 note %q reason %q: want where it paused and that hello-web-2 still runs release 1", rel.Note, rel.Reason)
	}
	if r1 := h.release(1); r1.Status != store.StatusSuperseded {
		t.Errorf("release 1 is %s, want superseded", r1.Status)
	}
	h.checkUnlocked()
}

// Down settles a release awaiting confirmation (superseded, saying it was
// taken down); confirm, rollback and promote on the down stack are bad
// input naming it; a deploy brings it back.
func TestDown_SettlesAwaitingRelease(t *testing.T) {
	h := newRollingHarness(t)
	h.awaitRelease2()
	if _, err := h.deployer.Down(t.Context(), "hello", false); err != nil {
		t.Fatal(err)
	}
	if rel := h.release(2); rel.Status != store.StatusSuperseded || rel.Note != "taken down by cutover down while it awaited confirmation" || len(rel.Confirm) != 0 {
		t.Errorf("release 2 after down: %s (%q), want superseded, taken down", rel.Status, rel.Note)
	}
	if r1 := h.release(1); r1.Status != store.StatusActive {
		t.Errorf("release 1 after down: %s, want still active (the last one confirmed)", r1.Status)
	}
	n := len(h.fake.Calls())
	for verb, act := range map[string]func() error{
		"confirm":   func() error { _, err := h.deployer.Confirm(t.Context(), "hello"); return err },
		"roll back": func() error { _, err := h.deployer.Rollback(t.Context(), "hello"); return err },
		"promote":   func() error { _, err := h.deployer.Promote(t.Context(), "hello"); return err },
	} {
		err := act()
		if !errors.Is(err, deploy.ErrBadInput) || !strings.Contains(err.Error(), "stack hello is down") || !strings.Contains(err.Error(), "nothing to "+verb) {
			t.Errorf("%s on a down stack: %v, want ErrBadInput saying stack hello is down", verb, err)
		}
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("refused commands called the engine: %v", calls)
	}
	h.checkUnlocked()
	if res := h.mustDeploy(deploy.Request{}); res.Release.Number != 3 {
		t.Errorf("deploy after down made release %d, want 3", res.Release.Number)
	}
	h.checkServing("hello:1")
}

// A dry run while a release awaits confirmation says the deploy confirms
// it first and plans from what that leaves, as the deploy does: its plan
// is the real one, and the kept <name>_old are not leftovers.
func TestDryRun_AwaitingConfirm(t *testing.T) {
	h := newRollingHarness(t)
	h.awaitRelease2()
	events := h.events()
	n := len(h.fake.Calls())

	dry, err := h.deploy(t.Context(), deploy.Request{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if calls := h.callsSince(n); len(calls) != 0 {
		t.Errorf("a dry run called the engine: %v", calls)
	}
	if rel := h.release(2); rel.Status != store.StatusAwaitingConfirm {
		t.Errorf("release 2 is %s after a dry run, want still awaiting-confirm", rel.Status)
	}
	said := slices.ContainsFunc(events(), func(e deploy.Event) bool {
		return e.Kind == deploy.KindMessage && strings.HasPrefix(e.Message, "release 2 awaited confirmation: confirming it before the next release (dry run")
	})
	if !said {
		t.Errorf("the dry run did not say release 2 is confirmed first: %+v", events())
	}
	if plan := dry.Plan.String(); strings.Contains(plan, "leftover") {
		t.Errorf("dry-run plan treats release 2's kept containers as leftovers:\n%s", plan)
	}

	res, err := h.deploy(t.Context(), deploy.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dry.Plan.String(), res.Plan.String(); got != want {
		t.Errorf("dry-run plan:\n%s\nthe deploy's plan:\n%s", got, want)
	}
}

// A paused release never drained what it would have retired after its
// batches (here the cache service its file dropped): confirming it must
// not force-remove that still-serving container.
func TestPaused_ConfirmKeepsWhatStillServes(t *testing.T) {
	h := newHarnessFor(t, rollingStack("failure_action: pause", "0s"))
	h.mustDeploy(deploy.Request{})
	// Release 2 drops the cache service and rolls web to hello:2, which
	// turns sick at its second replica.
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	without := strings.Replace(rollingStack("failure_action: pause", "0s"),
		"  cache:\n    image: redis:7\n    volumes:\n      - cachedata:/data\n", "", 1)
	if err := os.WriteFile(file, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	h.setOnStep(func(e deploy.Event) {
		if e.Action == "wait-ready" && e.Target == "hello-web-2_new" && e.Status == "started" {
			h.fake.UpdateContainer("hello-web-2_new", func(c *engine.Container) { c.Health, c.HealthOutput = "unhealthy", "probe failed" })
		}
	})
	if _, err := h.deploy(t.Context(), deploy.Request{Stack: st, Images: map[string]string{"web": "hello:2"}}); !errors.Is(err, deploy.ErrPaused) {
		t.Fatalf("release 2: %v, want paused", err)
	}
	h.setOnStep(nil)
	if c := h.container("hello-cache-1"); !c.Running() {
		t.Fatalf("hello-cache-1 is %s after the pause, want still running", c.State)
	}

	if _, err := h.deployer.Confirm(t.Context(), "hello"); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if c, ok := h.fake.Container("hello-cache-1"); !ok || !c.Running() {
		t.Errorf("confirm of the paused release removed or stopped hello-cache-1, which still served (present %t)", ok)
	}
}
