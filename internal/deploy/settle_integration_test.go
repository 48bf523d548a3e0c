package deploy_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// rollingEnv is a bgEnv whose stack rolls (through the proxy), with web's
// extra update_config settings (a flow mapping body).
func rollingEnv(t *testing.T, update string) *bgEnv {
	t.Helper()
	e := newBGEnv(t)
	data, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(data), "strategy: bluegreen", "strategy: rolling", 1)
	yaml = strings.Replace(yaml, "deploy: {replicas: 2}", "deploy: {replicas: 2, update_config: {"+update+"}}", 1)
	if err := os.WriteFile(e.file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// stackContainers lists every container of the stack's project.
func (e *bgEnv) stackContainers() []string {
	e.t.Helper()
	cs, err := e.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: e.stack})
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name+" "+c.State)
	}
	return names
}

// TestAwaiting_DryRunThenDown_RealEngine: while release 2 awaits
// confirmation, a dry run says the deploy confirms it first and plans no
// removal of its kept containers as leftovers; down then removes
// everything and records release 2 superseded, and rollback and confirm
// refuse the down stack instead of "succeeding" with nothing running.
func TestAwaiting_DryRunThenDown_RealEngine(t *testing.T) {
	e := rollingEnv(t, "")
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	if res, err := e.deploy("v2"); err != nil || res.Release.Status != store.StatusAwaitingConfirm {
		t.Fatalf("release 2: %v (%s), want awaiting-confirm", err, res.Release.Status)
	}

	var said []string
	e.mu.Lock()
	e.onStep = func(ev deploy.Event) {
		if ev.Kind == deploy.KindMessage {
			said = append(said, ev.Message)
		}
	}
	e.mu.Unlock()
	st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{e.file}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	dry, err := e.d.Deploy(t.Context(), deploy.Request{Stack: st, Images: map[string]string{"web": e.images["v1"]}, DryRun: true})
	e.mu.Lock()
	e.onStep = nil
	e.mu.Unlock()
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !strings.Contains(strings.Join(said, "\n"), "release 2 awaited confirmation: confirming it before the next release") {
		t.Errorf("the dry run did not say release 2 is confirmed first: %q", said)
	}
	if plan := dry.Plan.String(); strings.Contains(plan, "leftover") {
		t.Errorf("dry-run plan removes release 2's kept containers as leftovers:\n%s", plan)
	}

	if _, err := e.d.Down(t.Context(), e.stack, false); err != nil {
		t.Fatalf("down: %v", err)
	}
	if rel, _ := e.store.GetRelease(t.Context(), e.stack, 2); rel.Status != store.StatusSuperseded || !strings.Contains(rel.Note, "taken down") {
		t.Errorf("release 2 after down: %s (%q), want superseded, taken down", rel.Status, rel.Note)
	}
	for verb, act := range map[string]func() error{
		"roll back": func() error { _, err := e.d.Rollback(t.Context(), e.stack); return err },
		"confirm":   func() error { _, err := e.d.Confirm(t.Context(), e.stack); return err },
	} {
		if err := act(); !errors.Is(err, deploy.ErrBadInput) || !strings.Contains(err.Error(), "stack "+e.stack+" is down") {
			t.Errorf("%s after down: %v, want bad input saying the stack is down", verb, err)
		}
	}
	if left := e.stackContainers(); len(left) != 0 {
		t.Errorf("containers after down and the refused commands: %v", left)
	}
}

// TestPaused_RealEngine: a roll with failure_action pause whose new image
// exits on start pauses before anything took over; confirm refuses it
// (exit 2) and v1 keeps serving; the next deploy records it superseded and
// removes the container it left.
func TestPaused_RealEngine(t *testing.T) {
	e := rollingEnv(t, "failure_action: pause")
	exits := strings.Replace(e.images["v1"], ":v1", ":exits", 1)
	testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: exits, Version: "exits", Env: map[string]string{"TESTAPP_EXIT_ON_START": "1"}})
	e.images["exits"] = exits
	e.setHealthTimeout(t, 5*time.Second)
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	if _, err := e.deploy("exits"); !errors.Is(err, deploy.ErrPaused) {
		t.Fatalf("release 2: %v, want paused", err)
	}
	_, err := e.d.Confirm(t.Context(), e.stack)
	if !errors.Is(err, deploy.ErrBadInput) || !strings.Contains(err.Error(), "paused before any of its containers took over") {
		t.Fatalf("confirm of the paused release: %v, want bad input saying nothing took over", err)
	}
	e.mustServe("v1")
	if rel, _ := e.store.GetRelease(t.Context(), e.stack, 2); rel.Status != store.StatusAwaitingConfirm {
		t.Errorf("release 2 after the refused confirm: %s, want awaiting-confirm", rel.Status)
	}

	res, err := e.deploy("v1")
	if err != nil || res.Release.Status != store.StatusActive {
		t.Fatalf("release 3: %v (%s), want active", err, res.Release.Status)
	}
	if rel, _ := e.store.GetRelease(t.Context(), e.stack, 2); rel.Status != store.StatusSuperseded || !strings.Contains(rel.Note, "paused at") {
		t.Errorf("release 2 after the next deploy: %s (%q), want superseded saying where it paused", rel.Status, rel.Note)
	}
	e.mustServe("v1")
	for _, c := range e.stackContainers() {
		if !strings.HasSuffix(c, " running") || strings.Contains(c, "_new") {
			t.Errorf("container %s left after the next deploy", c)
		}
	}
}
