package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// probeRouter is a router whose health probe takes a canary target out:
// Status reports sick unhealthy with the probe's error, and calls onProbe
// the first time it does (the engine catching up with a crash).
type probeRouter struct {
	Router
	mu      sync.Mutex
	targets []string
	sick    string
	onProbe func()
}

func (r *probeRouter) Targets(context.Context, string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.targets, nil
}

func (r *probeRouter) SetSplit(_ context.Context, _ string, s lb.Split) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(append([]string(nil), s.Stable...), s.Canary...)
	return nil
}

func (r *probeRouter) SetTargets(_ context.Context, _ string, addrs []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = addrs
	return nil
}

func (r *probeRouter) Status() []lb.RouteStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := lb.RouteStatus{Route: lb.Route{Name: "shop/web"}}
	for _, a := range r.targets {
		t := lb.TargetStatus{Addr: a, Healthy: true}
		if a == r.sick {
			t.Healthy, t.LastError = false, "dial tcp "+a+": connect: connection refused"
			if r.onProbe != nil {
				r.onProbe()
				r.onProbe = nil
			}
		}
		st.Targets = append(st.Targets, t)
	}
	return []lb.RouteStatus{st}
}

// A canary the router's probe takes out during a pause (it usually sees a
// crash before the engine reports the exit) fails the step naming the
// container, with its exit code once the engine reports it, and the
// release's reason carries the container's last log lines, as for a
// container the pause saw exit itself.
func TestPause_ProbeFailureNamesTheContainer(t *testing.T) {
	for _, tt := range []struct {
		desc   string
		exits  bool
		reason []string
	}{
		{desc: "crashed", exits: true, reason: []string{"canary container shop-green-web-1 exited with code 3 at 20%", "connection refused"}},
		{desc: "hangs", reason: []string{"canary container shop-green-web-1 is running at 20% but the router's health probe of 10.0.1.2:8080 on route shop/web fails", "connection refused"}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			ctx := context.Background()
			eng := enginetest.New(nil)
			eng.AddImage("web:2", "sha256:web2")
			for name, ip := range map[string]string{"shop-blue-web-1": "10.0.0.2", "shop-green-web-1": "10.0.1.2"} {
				if _, err := eng.CreateContainer(ctx, engine.ContainerSpec{Name: name, Image: "web:2"}); err != nil {
					t.Fatal(err)
				}
				if err := eng.StartContainer(ctx, name); err != nil {
					t.Fatal(err)
				}
				eng.SetNetworks(name, map[string]string{"shop_default": ip})
			}
			rt := &probeRouter{targets: []string{"10.0.0.2:8080"}, sick: "10.0.1.2:8080"}
			if tt.exits {
				rt.onProbe = func() {
					// The engine reports the exit a moment after the probe saw it.
					go eng.UpdateContainer("shop-green-web-1", func(c *engine.Container) { c.State, c.ExitCode = "exited", 3 })
				}
			}
			route := &strategies.Route{Service: "web", Network: "shop_default", Port: 8080, Route: lb.Route{Name: "shop/web"}}
			canary := []string{"shop-green-web-1"}
			x := &Executor{Engine: eng, Router: rt, Poll: 5 * time.Millisecond}
			err := x.Run(ctx, []strategies.Step{
				{Action: strategies.ActionSplit, Service: "web", Route: route, Containers: canary, Weight: 20},
				{Action: strategies.ActionPause, Service: "web", Containers: canary, Weight: 20, Duration: time.Hour},
			})
			var serr *StepError
			if !errors.As(err, &serr) || !errors.Is(err, ErrNotReady) {
				t.Fatalf("Run = %v, want a StepError of the pause", err)
			}
			reason := serr.Reason()
			for _, want := range append(tt.reason, "last log lines of shop-green-web-1:\nlog of shop-green-web-1") {
				if !strings.Contains(reason, want) {
					t.Errorf("reason %q does not say %q", reason, want)
				}
			}
			if got, _ := rt.Targets(ctx, "shop/web"); len(got) != 1 || got[0] != "10.0.0.2:8080" {
				t.Errorf("route targets after the failure: %v, want the split undone (10.0.0.2:8080 only)", got)
			}
		})
	}
}
