package deploy

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// A blue-green rollback through dns keeps the color it leaves: its stops
// move behind a keep-old step among the cleanup (confirm) steps, so a
// rollback cut short during the window is not undone, and the color is
// not stopped early.
func TestDeferRetireForKeepOld(t *testing.T) {
	plan := func(router string) *strategies.Plan {
		r := &strategies.Route{Service: "web", Route: lb.Route{Name: "shop/web", Router: router}}
		return &strategies.Plan{
			Steps: []strategies.Step{
				{Action: strategies.ActionEnsureRoute, Route: r},
				{Action: strategies.ActionCheckTargets, Route: r, Containers: []string{"shop-blue-web-1"}},
				{Action: strategies.ActionSwitch, Route: r, Containers: []string{"shop-blue-web-1"}},
				{Action: strategies.ActionStop, Container: "shop-green-web-1"},
			},
			Confirm: []strategies.Step{{Action: strategies.ActionRemove, Container: "shop-green-web-1"}},
		}
	}
	actions := func(steps []strategies.Step) []string {
		var out []string
		for _, s := range steps {
			out = append(out, string(s.Action)+" "+s.Container)
		}
		return out
	}
	p := plan("dns")
	deferRetireForKeepOld(p)
	if got, want := actions(p.Steps), []string{"ensure-route ", "check-targets ", "switch "}; !slices.Equal(got, want) {
		t.Errorf("steps = %q, want %q", got, want)
	}
	if got, want := actions(p.Confirm), []string{"keep-old shop/web", "stop shop-green-web-1", "remove shop-green-web-1"}; !slices.Equal(got, want) {
		t.Errorf("confirm = %q, want %q", got, want)
	}
	p = plan("")
	deferRetireForKeepOld(p)
	if len(p.Steps) != 4 || len(p.Confirm) != 1 {
		t.Errorf("a proxy rollback was changed: %q / %q", actions(p.Steps), actions(p.Confirm))
	}
}

// fixedKeepOld is a router whose routes all keep old targets for window.
type fixedKeepOld struct {
	Router
	window time.Duration
}

func (f fixedKeepOld) KeepOld(context.Context, string, time.Duration) time.Duration { return f.window }

type messages struct {
	mu   sync.Mutex
	msgs []string
	seen chan struct{}
}

func (m *messages) Event(e Event) {
	if e.Kind != KindMessage {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, e.Message)
	if m.seen != nil {
		close(m.seen)
		m.seen = nil
	}
}

// Confirm steps of a release that switched by dns start with a keep-old
// step carrying the end of the window; running them holds the stop until
// then, says so, and stops nothing when the wait is cut short.
func TestExecutor_KeepOldHoldsTheStop(t *testing.T) {
	eng := enginetest.New(nil)
	ctx := context.Background()
	x := &Executor{Engine: eng, Router: fixedKeepOld{window: time.Hour}}
	r := &strategies.Route{Route: lb.Route{Name: "shop/web", Router: "dns"}}
	x.noteSwitch(ctx, r, []string{"127.0.0.11:80"}, []string{"127.0.0.12:80"})
	x.noteSwitch(ctx, &strategies.Route{Route: lb.Route{Name: "shop/api"}}, nil, []string{"127.0.0.12:81"}) // nothing left it

	confirm := x.keepOldSteps([]strategies.Step{{Action: strategies.ActionStop, Container: "shop-blue-web-1"}})
	if len(confirm) != 2 || confirm[0].Action != ActionKeepOld || confirm[0].Container != "shop/web" || confirm[0].Duration != time.Hour || confirm[0].Name == "" {
		t.Fatalf("confirm steps = %+v, want a keep-old step for shop/web with its window's end, then the stop", confirm)
	}
	if got := x.keepOldSteps([]strategies.Step{{Action: strategies.ActionSleep}}); len(got) != 1 {
		t.Errorf("steps that stop nothing got keep-old steps: %+v", got)
	}

	// Another process confirms while the window runs and is interrupted.
	seen := make(chan struct{})
	obs := &messages{seen: seen}
	later := &Executor{Engine: eng, Observer: obs}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-seen
		cancel()
	}()
	err := later.RunConfirm(cctx, confirm)
	if err == nil || !strings.Contains(err.Error(), "not stopped") {
		t.Errorf("RunConfirm cut short = %v, want an error saying the old targets were not stopped", err)
	}
	if slices.Contains(eng.Calls(), "stop shop-blue-web-1") {
		t.Error("the old color was stopped before its keep-old window ended")
	}
	obs.mu.Lock()
	msgs := obs.msgs
	obs.mu.Unlock()
	if len(msgs) == 0 || !strings.Contains(msgs[0], "keep-old window") || !strings.Contains(msgs[0], "shop/web") {
		t.Errorf("messages = %q, want one saying shop/web's old targets keep serving", msgs)
	}

	// Once the window is over, confirm stops at once and says nothing.
	confirm[0].Name = time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	quiet := &messages{}
	_ = (&Executor{Engine: eng, Observer: quiet}).RunConfirm(ctx, confirm)
	if !slices.Contains(eng.Calls(), "stop shop-blue-web-1") || len(quiet.msgs) != 0 {
		t.Errorf("after the window: calls %v, messages %q; want the stop and no message", eng.Calls(), quiet.msgs)
	}
}
