package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/strategies"
)

// journal records steps as the executor journals them.
type journal struct {
	mu    sync.Mutex
	steps []string // "action target: status"
}

func (j *journal) StepStarted(_ context.Context, s strategies.Step) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.steps = append(j.steps, string(s.Action)+" "+s.Target()+": started")
	return len(j.steps) - 1, nil
}

func (j *journal) StepEnded(_ context.Context, i int, status string, _ error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	head, _, _ := strings.Cut(j.steps[i], ": ")
	j.steps[i] = head + ": " + status
	return nil
}

func (j *journal) lines() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.steps)
}

func newExecutor(fake *enginetest.Fake, clk *clock) (*deploy.Executor, *journal) {
	j := &journal{}
	return &deploy.Executor{Engine: fake, Journal: j, Stack: "hello", Release: 2, Now: clk.Now, Poll: time.Millisecond}, j
}

// startOld creates and starts container name from image, as the release
// before would have left it.
func startOld(t *testing.T, fake *enginetest.Fake, name, image string) {
	t.Helper()
	if _, err := fake.CreateContainer(t.Context(), engine.ContainerSpec{Name: name, Image: image}); err != nil {
		t.Fatal(err)
	}
	if err := fake.StartContainer(t.Context(), name); err != nil {
		t.Fatal(err)
	}
}

// replaceSteps are the steps recreate plans to replace container a.
func replaceSteps(image string, ready strategies.ReadyPolicy) []strategies.Step {
	spec := engine.ContainerSpec{Name: "a_new", Image: image}
	return []strategies.Step{
		{Action: strategies.ActionCreate, Spec: &spec},
		{Action: strategies.ActionStop, Container: "a"},
		{Action: strategies.ActionRename, Container: "a", NewName: "a_old"},
		{Action: strategies.ActionRename, Container: "a_new", NewName: "a"},
		{Action: strategies.ActionStart, Container: "a"},
		{Action: strategies.ActionWaitReady, Container: "a", Ready: ready},
	}
}

func TestExecutor_ReplacesContainer(t *testing.T) {
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	fake.AddImage("app:2", "sha256:app2")
	fake.SetHealth("app:2", "healthy")
	startOld(t, fake, "a", "app:1")
	x, j := newExecutor(fake, clk)

	if err := x.Run(t.Context(), replaceSteps("app:2", strategies.ReadyPolicy{HealthTimeout: time.Second})); err != nil {
		t.Fatal(err)
	}
	if c, _ := fake.Container("a"); c.Image != "app:2" || !c.Running() {
		t.Errorf("a runs %s (%s), want app:2 running", c.Image, c.State)
	}
	if c, _ := fake.Container("a_old"); c.Image != "app:1" || c.Running() {
		t.Errorf("a_old is %s (%s), want app:1 stopped", c.Image, c.State)
	}
	for _, line := range j.lines() {
		if !strings.HasSuffix(line, ": done") {
			t.Errorf("journal: %s", line)
		}
	}
}

func TestExecutor_UndoesInReverse(t *testing.T) {
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	fake.AddImage("app:2", "sha256:app2")
	fake.SetHealth("app:1", "healthy")
	fake.SetHealth("app:2", "unhealthy")
	startOld(t, fake, "a", "app:1")
	oldID := func() string { c, _ := fake.Container("a"); return c.ID }()
	n := len(fake.Calls())
	x, j := newExecutor(fake, clk)

	err := x.Run(t.Context(), replaceSteps("app:2", strategies.ReadyPolicy{HealthTimeout: time.Second}))
	var serr *deploy.StepError
	if !errors.As(err, &serr) {
		t.Fatalf("Run: %v, want a *StepError", err)
	}
	if serr.Step.Action != strategies.ActionWaitReady || serr.UndoErr != nil || !errors.Is(err, deploy.ErrNotReady) {
		t.Errorf("StepError %+v", serr)
	}
	if serr.Logs != "log of a\n" {
		t.Errorf("logs %q: want the new container's", serr.Logs)
	}
	want := "wait-ready a: health check failed: probe failed: not ready\nlast log lines of a:\nlog of a"
	if serr.Reason() != want {
		t.Errorf("reason:\n%s\nwant:\n%s", serr.Reason(), want)
	}

	wantCalls := []string{
		"create a_new", "stop a", "rename a a_old", "rename a_new a", "start a",
		// undo, in reverse
		"stop a", "rename a a_new", "rename a_old a", "start a", "remove a_new",
	}
	if got := fake.Calls()[n:]; !slices.Equal(got, wantCalls) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCalls, "\n"))
	}
	if names := fake.ContainerNames(); !slices.Equal(names, []string{"a"}) {
		t.Errorf("containers %v, want only a", names)
	}
	if c, _ := fake.Container("a"); c.ID != oldID || !c.Running() {
		t.Errorf("a is %s (%s), want the old container %s running", c.ID, c.State, oldID)
	}
	wantJournal := []string{
		// the steps that ran are marked undone once reverted
		"create a_new: undone", "stop a: undone", "rename a → a_old: undone", "rename a_new → a: undone", "start a: undone",
		"wait-ready a: failed",
		"stop a: done", "rename a → a_new: done", "rename a_old → a: done", "start a: done", "remove a_new: done",
		"wait-ready a: done", // the old container serves again before Run returns
	}
	if got := j.lines(); !slices.Equal(got, wantJournal) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantJournal, "\n"))
	}
}

// TestExecutor_UndoRemovesOnlyWhatItCreated: a network that existed before
// the run stays; the network and volume the run created go.
func TestExecutor_UndoRemovesOnlyWhatItCreated(t *testing.T) {
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	if _, err := fake.CreateNetwork(t.Context(), engine.NetworkSpec{Name: "shared"}); err != nil {
		t.Fatal(err)
	}
	fake.FailOn("create a_new", errors.New("port is already allocated"))
	x, _ := newExecutor(fake, clk)
	spec := engine.ContainerSpec{Name: "a_new", Image: "app:1"}

	err := x.Run(t.Context(), []strategies.Step{
		{Action: strategies.ActionEnsureNetwork, Network: &engine.NetworkSpec{Name: "shared"}},
		{Action: strategies.ActionEnsureNetwork, Network: &engine.NetworkSpec{Name: "hello_default"}},
		{Action: strategies.ActionEnsureVolume, Volume: &engine.VolumeSpec{Name: "hello_data"}},
		{Action: strategies.ActionCreate, Spec: &spec},
	})
	if err == nil || !strings.Contains(err.Error(), "port is already allocated") {
		t.Fatalf("Run: %v", err)
	}
	nets, _ := fake.ListNetworks(t.Context(), nil)
	vols, _ := fake.ListVolumes(t.Context(), nil)
	if len(nets) != 1 || nets[0].Name != "shared" || len(vols) != 0 {
		t.Errorf("after undo: networks %v volumes %v, want only shared", nets, vols)
	}
}

func TestExecutor_ExternalNetworkMissing(t *testing.T) {
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	x, _ := newExecutor(fake, clk)

	err := x.Run(t.Context(), []strategies.Step{{Action: strategies.ActionCheckNetwork, Name: "traefik"}})
	if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), `external network "traefik" does not exist: create it first`) {
		t.Errorf("Run: %v", err)
	}
	if _, err := fake.CreateNetwork(t.Context(), engine.NetworkSpec{Name: "traefik"}); err != nil {
		t.Fatal(err)
	}
	if err := x.Run(t.Context(), []strategies.Step{{Action: strategies.ActionCheckNetwork, Name: "traefik"}}); err != nil {
		t.Errorf("Run with the network present: %v", err)
	}
}

// TestExecutor_RunConfirm: a container already gone is fine; a removal that
// fails is reported after the others were still tried.
func TestExecutor_RunConfirm(t *testing.T) {
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	for _, name := range []string{"a_old", "b_old"} {
		if _, err := fake.CreateContainer(t.Context(), engine.ContainerSpec{Name: name, Image: "app:1"}); err != nil {
			t.Fatal(err)
		}
	}
	fake.FailOn("remove a_old", errors.New("device busy"))
	x, _ := newExecutor(fake, clk)

	err := x.RunConfirm(t.Context(), []strategies.Step{
		{Action: strategies.ActionRemove, Container: "gone_old"},
		{Action: strategies.ActionRemove, Container: "a_old"},
		{Action: strategies.ActionRemove, Container: "b_old"},
	})
	if err == nil || !strings.Contains(err.Error(), "remove a_old: device busy") || strings.Contains(err.Error(), "gone_old") {
		t.Errorf("RunConfirm: %v, want only the a_old failure", err)
	}
	if names := fake.ContainerNames(); !slices.Equal(names, []string{"a_old"}) {
		t.Errorf("containers %v, want b_old removed despite a_old failing", names)
	}
}

// TestExecutor_WaitReadyWithoutHealthcheck: a container without a
// healthcheck is ready once it has run for min_ready by the executor's
// clock, and not ready when health_timeout passes first.
func TestExecutor_WaitReadyWithoutHealthcheck(t *testing.T) {
	tests := []struct {
		desc    string
		ready   strategies.ReadyPolicy
		wantErr string
	}{
		{desc: "ready after min_ready", ready: strategies.ReadyPolicy{HealthTimeout: time.Minute, MinReady: 3 * time.Second}},
		{desc: "min_ready 0 is ready at once", ready: strategies.ReadyPolicy{HealthTimeout: time.Minute}},
		{desc: "health_timeout first", ready: strategies.ReadyPolicy{HealthTimeout: 5 * time.Second, MinReady: time.Hour},
			wantErr: "still running after 5s: not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			clk := newClock(time.Second) // every reading is a second later
			fake := enginetest.New(clk.Now)
			fake.AddImage("app:1", "sha256:app1")
			startOld(t, fake, "a", "app:1")
			x, _ := newExecutor(fake, clk)

			err := x.Run(t.Context(), []strategies.Step{{Action: strategies.ActionWaitReady, Container: "a", Ready: tt.ready}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("wait-ready: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, deploy.ErrNotReady)):
				t.Errorf("wait-ready: %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestExecutor_CancelledRunIsUndone: a cancelled context stops the wait and
// the undo still runs to the end.
func TestExecutor_CancelledRunIsUndone(t *testing.T) {
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	fake.AddImage("app:2", "sha256:app2") // no healthcheck, clock still: never ready
	fake.SetHealth("app:1", "healthy")
	startOld(t, fake, "a", "app:1")
	x, _ := newExecutor(fake, clk)
	ctx, cancel := context.WithCancel(t.Context())
	x.Observer = deploy.ObserverFunc(func(e deploy.Event) {
		if e.Action == string(strategies.ActionWaitReady) && e.Status == "started" {
			cancel()
		}
	})

	err := x.Run(ctx, replaceSteps("app:2", strategies.ReadyPolicy{HealthTimeout: time.Hour, MinReady: time.Second}))
	var serr *deploy.StepError
	if !errors.As(err, &serr) || !errors.Is(err, context.Canceled) || serr.UndoErr != nil {
		t.Fatalf("Run: %v, want a *StepError wrapping context.Canceled with a clean undo", err)
	}
	if names := fake.ContainerNames(); !slices.Equal(names, []string{"a"}) {
		t.Errorf("containers %v, want only a", names)
	}
	if c, _ := fake.Container("a"); c.Image != "app:1" || !c.Running() {
		t.Errorf("a runs %s (%s), want app:1 running", c.Image, c.State)
	}
}

func TestStepError_Message(t *testing.T) {
	e := &deploy.StepError{
		Step:    strategies.Step{Action: strategies.ActionStart, Container: "hello-web-1"},
		Err:     errors.New("port is already allocated"),
		UndoErr: fmt.Errorf("start hello-web-1_old: %w", engine.ErrNotFound),
	}
	want := "start hello-web-1: port is already allocated (and undoing failed: start hello-web-1_old: not found)"
	if e.Error() != want || e.Reason() != want {
		t.Errorf("Error %q\nReason %q\nwant %q", e.Error(), e.Reason(), want)
	}
}
