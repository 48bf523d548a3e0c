package deploy_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/strategies"
)

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rollingFake is a fake engine with app:1 (healthy) and app:2 (unhealthy),
// and container "old" of app:1 running.
func rollingFake(t *testing.T, clk *clock) *enginetest.Fake {
	t.Helper()
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	fake.AddImage("app:2", "sha256:app2")
	fake.SetHealth("app:1", "healthy")
	fake.SetHealth("app:2", "unhealthy")
	startOld(t, fake, "old", "app:1")
	return fake
}

func createStep(svc, name, image string) strategies.Step {
	return strategies.Step{Action: strategies.ActionCreate, Service: svc, Spec: &engine.ContainerSpec{Name: name, Image: image}}
}

func startStep(svc, name string) strategies.Step {
	return strategies.Step{Action: strategies.ActionStart, Service: svc, Container: name}
}

func waitStep(svc, name string) strategies.Step {
	return strategies.Step{Action: strategies.ActionWaitReady, Service: svc, Container: name, Ready: strategies.ReadyPolicy{HealthTimeout: time.Second}}
}

// failingSteps start two app:2 containers (never ready) and one app:1
// container (ready) of service web, each health-gated, then stop "old".
func failingSteps() []strategies.Step {
	return []strategies.Step{
		createStep("web", "bad1", "app:2"), startStep("web", "bad1"), waitStep("web", "bad1"),
		createStep("web", "good", "app:1"), startStep("web", "good"), waitStep("web", "good"),
		createStep("web", "bad2", "app:2"), startStep("web", "bad2"), waitStep("web", "bad2"),
		{Action: strategies.ActionStop, Service: "web", Container: "old"},
	}
}

func TestExecutor_FailurePolicy(t *testing.T) {
	tests := []struct {
		desc   string
		policy strategies.FailurePolicy
		// failedAt is the container of the failed step Run returns, ""
		// when the run goes on to the end.
		failedAt       string
		paused, undone bool
		tolerated      []string // containers whose failure was let pass
	}{
		{desc: "one tolerated failure, then rollback", policy: strategies.FailurePolicy{Action: "rollback", MaxFailures: 1},
			tolerated: []string{"bad1"}, failedAt: "bad2", undone: true},
		{desc: "two tolerated failures", policy: strategies.FailurePolicy{Action: "rollback", MaxFailures: 2},
			tolerated: []string{"bad1", "bad2"}},
		{desc: "failure_action continue", policy: strategies.FailurePolicy{Action: "continue"},
			tolerated: []string{"bad1", "bad2"}},
		{desc: "failure_action pause", policy: strategies.FailurePolicy{Action: "pause"},
			failedAt: "bad1", paused: true},
		{desc: "one tolerated failure, then pause", policy: strategies.FailurePolicy{Action: "pause", MaxFailures: 1},
			tolerated: []string{"bad1"}, failedAt: "bad2", paused: true},
		{desc: "failure_action rollback", policy: strategies.FailurePolicy{Action: "rollback"},
			failedAt: "bad1", undone: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			clk := newClock(0)
			fake := rollingFake(t, clk)
			n := len(fake.Calls())
			x, j := newExecutor(fake, clk)
			x.Failure = map[string]strategies.FailurePolicy{"web": tt.policy}

			err := x.Run(t.Context(), failingSteps())

			var tolerated []string
			for _, e := range x.Tolerated {
				tolerated = append(tolerated, e.Step.Container)
				if !errors.Is(e, deploy.ErrNotReady) || e.Logs != "log of "+e.Step.Container+"\n" {
					t.Errorf("tolerated failure %v: want ErrNotReady with the container's logs, logs %q", e, e.Logs)
				}
			}
			if !slices.Equal(tolerated, tt.tolerated) {
				t.Errorf("tolerated %v, want %v", tolerated, tt.tolerated)
			}
			if tt.failedAt == "" {
				if err != nil {
					t.Fatalf("Run: %v, want the failures tolerated", err)
				}
				if c, _ := fake.Container("old"); c.Running() {
					t.Error("the run did not go on to its last step (old still runs)")
				}
				for _, line := range j.lines() {
					if strings.HasSuffix(line, ": undone") {
						t.Errorf("journal: %s: nothing should be undone", line)
					}
				}
				return
			}
			var serr *deploy.StepError
			if !errors.As(err, &serr) || serr.Step.Container != tt.failedAt || serr.Step.Action != strategies.ActionWaitReady {
				t.Fatalf("Run: %v, want a *StepError of wait-ready %s", err, tt.failedAt)
			}
			if !errors.Is(err, deploy.ErrNotReady) || serr.Logs != "log of "+tt.failedAt+"\n" {
				t.Errorf("StepError %v logs %q: want ErrNotReady and the container's logs", err, serr.Logs)
			}
			if got := errors.Is(err, deploy.ErrPaused); got != tt.paused {
				t.Errorf("errors.Is(%v, ErrPaused) = %t, want %t", err, got, tt.paused)
			}
			calls := fake.Calls()[n:]
			if tt.paused {
				// What ran stays: nothing is stopped or removed, and the
				// steps after the failed one never run.
				if hasCall(calls, "remove ") || hasCall(calls, "stop ") {
					t.Errorf("a paused run undid steps: %v", calls)
				}
				if c, ok := fake.Container(tt.failedAt); !ok || !c.Running() {
					t.Errorf("%s after the pause: %+v, want it left running", tt.failedAt, c)
				}
				if c, _ := fake.Container("old"); !c.Running() {
					t.Error("old was stopped after the pause")
				}
				for _, line := range j.lines() {
					if strings.HasSuffix(line, ": undone") {
						t.Errorf("journal: %s: a pause undoes nothing", line)
					}
				}
				if last := j.lines()[len(j.lines())-1]; last != "wait-ready "+tt.failedAt+": failed" {
					t.Errorf("last journaled step %q, want the failed wait-ready", last)
				}
			}
			if tt.undone {
				if serr.UndoErr != nil {
					t.Errorf("undo failed: %v", serr.UndoErr)
				}
				if names := fake.ContainerNames(); !slices.Equal(names, []string{"old"}) {
					t.Errorf("containers %v after undo, want only old", names)
				}
				if !slices.Contains(j.lines(), "create bad1: undone") {
					t.Errorf("journal %v: the create is not marked undone", j.lines())
				}
			}
		})
	}
}

// TestExecutor_FailurePolicyOnlyForHealth: the policy covers wait-ready and
// monitor failures; an engine error undoes the run whatever it says, and so
// does a service the policy does not name.
func TestExecutor_FailurePolicyOnlyForHealth(t *testing.T) {
	t.Run("engine error", func(t *testing.T) {
		clk := newClock(0)
		fake := rollingFake(t, clk)
		fake.FailOn("start good", errors.New("port is already allocated"))
		x, _ := newExecutor(fake, clk)
		x.Failure = map[string]strategies.FailurePolicy{"web": {Action: "continue", MaxFailures: 5}}
		err := x.Run(t.Context(), failingSteps()[3:])
		if err == nil || errors.Is(err, deploy.ErrPaused) || len(x.Tolerated) != 0 {
			t.Fatalf("Run: %v (tolerated %d), want the start failure, undone", err, len(x.Tolerated))
		}
		if names := fake.ContainerNames(); !slices.Equal(names, []string{"old"}) {
			t.Errorf("containers %v, want only old", names)
		}
	})
	t.Run("other service", func(t *testing.T) {
		clk := newClock(0)
		fake := rollingFake(t, clk)
		x, _ := newExecutor(fake, clk)
		x.Failure = map[string]strategies.FailurePolicy{"api": {Action: "continue"}}
		err := x.Run(t.Context(), failingSteps())
		var serr *deploy.StepError
		if !errors.As(err, &serr) || serr.Step.Container != "bad1" || len(x.Tolerated) != 0 {
			t.Fatalf("Run: %v, want wait-ready bad1 to fail", err)
		}
		if names := fake.ContainerNames(); !slices.Equal(names, []string{"old"}) {
			t.Errorf("containers %v, want only old", names)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		// A cancelled wait is an abort, not a failure to tolerate.
		clk := newClock(0)
		fake := rollingFake(t, clk)
		fake.SetHealth("app:2", "") // never ready with the clock standing still
		x, _ := newExecutor(fake, clk)
		x.Failure = map[string]strategies.FailurePolicy{"web": {Action: "continue"}}
		ctx, cancel := context.WithCancel(t.Context())
		x.Observer = deploy.ObserverFunc(func(e deploy.Event) {
			if e.Action == string(strategies.ActionWaitReady) && e.Status == "started" {
				cancel()
			}
		})
		steps := failingSteps()
		steps[2].Ready.MinReady = time.Hour
		err := x.Run(ctx, steps)
		if !errors.Is(err, context.Canceled) || len(x.Tolerated) != 0 {
			t.Fatalf("Run: %v (tolerated %d), want context.Canceled, undone", err, len(x.Tolerated))
		}
		if names := fake.ContainerNames(); !slices.Equal(names, []string{"old"}) {
			t.Errorf("containers %v, want only old", names)
		}
	})
}

// runAsync runs steps in the background and returns a channel with the result.
func runAsync(ctx context.Context, x *deploy.Executor, steps []strategies.Step) <-chan error {
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx, steps) }()
	return done
}

// waitPolling waits until a background step has started and polled a few
// times.
func waitPolling(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the monitor step never started")
	}
	time.Sleep(20 * time.Millisecond)
}

// startedObserver signals when a step with action starts.
func startedObserver(action strategies.Action) (deploy.Observer, <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return deploy.ObserverFunc(func(e deploy.Event) {
		if e.Kind == deploy.KindStep && e.Action == string(action) && e.Status == "started" {
			once.Do(func() { close(ch) })
		}
	}), ch
}

func monitorStep(window time.Duration, names ...string) strategies.Step {
	return strategies.Step{Action: strategies.ActionMonitor, Service: "web", Containers: names, Duration: window}
}

// TestExecutor_MonitorWindow: a monitor step lasts until every container
// has run for the window by the executor's clock, and no longer.
func TestExecutor_MonitorWindow(t *testing.T) {
	clk := newClock(0)
	fake := rollingFake(t, clk)
	startOld(t, fake, "new", "app:1")
	x, _ := newExecutor(fake, clk)
	obs, started := startedObserver(strategies.ActionMonitor)
	x.Observer = obs

	done := runAsync(t.Context(), x, []strategies.Step{monitorStep(10*time.Second, "old", "new")})
	waitPolling(t, started)
	clk.advance(9 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("monitor ended after 9s of a 10s window: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	clk.advance(time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("monitor: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("monitor did not end once the window had passed")
	}
}

// TestExecutor_MonitorFailure: a container that exits, restarts or turns
// unhealthy inside the window fails the step at once, naming it, with its
// logs; the run is undone.
func TestExecutor_MonitorFailure(t *testing.T) {
	tests := []struct {
		desc   string
		change func(*engine.Container)
		says   string
	}{
		{desc: "exits", change: func(c *engine.Container) { c.State, c.ExitCode = "exited", 137 },
			says: "container new exited with code 137 within the 10s monitor window"},
		{desc: "dies", change: func(c *engine.Container) { c.State, c.ExitCode = "dead", 1 },
			says: "container new exited with code 1 within the 10s monitor window"},
		{desc: "restarts", change: func(c *engine.Container) { c.RestartCount++ },
			says: "container new restarted within the 10s monitor window"},
		{desc: "restarting", change: func(c *engine.Container) { c.State = "restarting" },
			says: "container new restarted within the 10s monitor window"},
		{desc: "turns unhealthy", change: func(c *engine.Container) { c.Health = "unhealthy" },
			says: "container new turned unhealthy within the 10s monitor window"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			clk := newClock(0)
			fake := rollingFake(t, clk)
			x, j := newExecutor(fake, clk)
			obs, started := startedObserver(strategies.ActionMonitor)
			x.Observer = obs

			done := runAsync(t.Context(), x, []strategies.Step{
				createStep("web", "new", "app:1"), startStep("web", "new"),
				monitorStep(10*time.Second, "old", "new"),
			})
			waitPolling(t, started)
			if !fake.UpdateContainer("new", tt.change) {
				t.Fatal("container new does not exist")
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("monitor did not notice")
			}
			var serr *deploy.StepError
			if !errors.As(err, &serr) || serr.Step.Action != strategies.ActionMonitor {
				t.Fatalf("Run: %v, want a *StepError of the monitor step", err)
			}
			if !strings.Contains(err.Error(), tt.says) || !errors.Is(err, deploy.ErrNotReady) {
				t.Errorf("error %q, want it to say %q and wrap ErrNotReady", err, tt.says)
			}
			if serr.LogsOf != "new" || serr.Logs != "log of new\n" {
				t.Errorf("logs of %q: %q, want new's", serr.LogsOf, serr.Logs)
			}
			if r := serr.Reason(); !strings.Contains(r, "last log lines of new:\nlog of new") {
				t.Errorf("reason %q does not give new's logs", r)
			}
			if serr.UndoErr != nil {
				t.Errorf("undo: %v", serr.UndoErr)
			}
			if names := fake.ContainerNames(); !slices.Equal(names, []string{"old"}) {
				t.Errorf("containers %v after undo, want only old", names)
			}
			want := []string{"create new: undone", "start new: undone", "monitor old, new: failed", "stop new: done", "remove new: done"}
			if got := j.lines(); !slices.Equal(got, want) {
				t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestExecutor_MonitorFailureTolerated: with a failure budget, a crash in
// the monitor window counts against it like a failed health gate.
func TestExecutor_MonitorFailureTolerated(t *testing.T) {
	clk := newClock(0)
	fake := rollingFake(t, clk)
	startOld(t, fake, "new", "app:1")
	fake.UpdateContainer("new", func(c *engine.Container) { c.State, c.ExitCode = "exited", 2 })
	x, _ := newExecutor(fake, clk)
	x.Failure = map[string]strategies.FailurePolicy{"web": {Action: "rollback", MaxFailures: 1}}
	if err := x.Run(t.Context(), []strategies.Step{monitorStep(time.Second, "new")}); err != nil {
		t.Fatalf("Run: %v, want the failure tolerated", err)
	}
	if len(x.Tolerated) != 1 || x.Tolerated[0].LogsOf != "new" {
		t.Errorf("tolerated %v, want the monitor failure of new", x.Tolerated)
	}
}

func TestExecutor_MonitorMissingContainer(t *testing.T) {
	clk := newClock(0)
	fake := rollingFake(t, clk)
	x, _ := newExecutor(fake, clk)
	err := x.Run(t.Context(), []strategies.Step{monitorStep(time.Second, "old", "gone")})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Run: %v, want ErrNotFound", err)
	}
}

func TestExecutor_Sleep(t *testing.T) {
	clk := newClock(0)
	fake := rollingFake(t, clk)
	x, _ := newExecutor(fake, clk)
	start := time.Now()
	if err := x.Run(t.Context(), []strategies.Step{{Action: strategies.ActionSleep, Duration: 30 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("a 30ms sleep step took %s", d)
	}
}

// TestExecutor_SleepCancelled: an abort during the interval between batches
// ends the sleep at once and undoes the batches done.
func TestExecutor_SleepCancelled(t *testing.T) {
	clk := newClock(0)
	fake := rollingFake(t, clk)
	x, _ := newExecutor(fake, clk)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	obs, started := startedObserver(strategies.ActionSleep)
	x.Observer = obs

	begin := time.Now()
	done := runAsync(ctx, x, []strategies.Step{
		createStep("web", "new", "app:1"), startStep("web", "new"),
		{Action: strategies.ActionSleep, Service: "web", Duration: time.Hour, Cause: "interval between batches"},
		createStep("web", "never", "app:1"),
	})
	<-started
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sleep step ignored the cancellation")
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("cancelled run took %s", d)
	}
	var serr *deploy.StepError
	if !errors.As(err, &serr) || serr.Step.Action != strategies.ActionSleep || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want the sleep step failing with context.Canceled", err)
	}
	if names := fake.ContainerNames(); !slices.Equal(names, []string{"old"}) {
		t.Errorf("containers %v, want only old (new undone, never not created)", names)
	}
}

// probeServer answers GET requests with status and records their paths.
type probeServer struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	paths  []string
}

func newProbeServer(t *testing.T, status int) *probeServer {
	t.Helper()
	p := &probeServer{status: status}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.Method+" "+r.URL.Path)
		status := p.status
		p.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *probeServer) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.paths)
}

// hostPort returns the server's address.
func (p *probeServer) hostPort(t *testing.T) (string, int) {
	t.Helper()
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}

// TestExecutor_ProbeReadiness: a routed service's container is ready when
// GET http://<its IP>:<port><path> answers 2xx, whatever its Docker health
// or run time say; otherwise it is not ready until the timeout.
func TestExecutor_ProbeReadiness(t *testing.T) {
	tests := []struct {
		desc     string
		status   int
		health   string // the image's Docker health
		networks bool   // the container has an address
		wantErr  string
	}{
		{desc: "200 is ready", status: http.StatusOK, networks: true},
		{desc: "204 is ready", status: http.StatusNoContent, networks: true},
		{desc: "503 is not ready until the timeout", status: http.StatusServiceUnavailable, networks: true,
			wantErr: "still running after 5s: not ready"},
		{desc: "a redirect is not ready", status: http.StatusFound, networks: true, wantErr: "still running after 5s: not ready"},
		{desc: "503 beats a healthy Docker healthcheck", status: http.StatusServiceUnavailable, health: "healthy", networks: true,
			wantErr: "still running, health healthy after 5s: not ready"},
		{desc: "an unhealthy Docker healthcheck beats 200", status: http.StatusOK, health: "unhealthy", networks: true,
			wantErr: "health check failed: probe failed"},
		{desc: "no address: the Docker healthcheck decides", status: http.StatusServiceUnavailable, health: "healthy"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			srv := newProbeServer(t, tt.status)
			host, port := srv.hostPort(t)
			clk := newClock(time.Second) // every reading is a second later
			fake := enginetest.New(clk.Now)
			fake.AddImage("app:1", "sha256:app1")
			fake.SetHealth("app:1", tt.health)
			startOld(t, fake, "web-1", "app:1")
			if tt.networks {
				fake.SetNetworks("web-1", map[string]string{"hello_default": host})
			}
			x, _ := newExecutor(fake, clk)
			// Without the probe, min_ready could never pass.
			ready := strategies.ReadyPolicy{HealthTimeout: 5 * time.Second, MinReady: time.Hour,
				Probe: &strategies.HTTPProbe{Port: port, Path: "/healthz"}}

			err := x.Run(t.Context(), []strategies.Step{{Action: strategies.ActionWaitReady, Container: "web-1", Ready: ready}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("wait-ready: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, deploy.ErrNotReady)):
				t.Errorf("wait-ready: %v, want %q", err, tt.wantErr)
			}
			reqs := srv.requests()
			if tt.networks && tt.health != "unhealthy" && (len(reqs) == 0 || reqs[0] != "GET /healthz") {
				t.Errorf("probe requests %v, want GET /healthz", reqs)
			}
			if !tt.networks && len(reqs) != 0 {
				t.Errorf("probe requests %v to a container without an address", reqs)
			}
		})
	}
}

// TestExecutor_ProbeBecomesReady: the probe is polled until it answers 2xx.
func TestExecutor_ProbeBecomesReady(t *testing.T) {
	srv := newProbeServer(t, http.StatusServiceUnavailable)
	host, port := srv.hostPort(t)
	clk := newClock(0)
	fake := enginetest.New(clk.Now)
	fake.AddImage("app:1", "sha256:app1")
	startOld(t, fake, "web-1", "app:1")
	fake.SetNetworks("web-1", map[string]string{"zz_other": "192.0.2.1", "hello_default": host}) // the first by name is used
	x, _ := newExecutor(fake, clk)
	ready := strategies.ReadyPolicy{HealthTimeout: time.Minute, MinReady: time.Hour, Probe: &strategies.HTTPProbe{Port: port, Path: "/ready"}}

	done := runAsync(t.Context(), x, []strategies.Step{{Action: strategies.ActionWaitReady, Container: "web-1", Ready: ready}})
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.requests()) < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("ready while the probe answers 503: %v", err)
	default:
	}
	srv.mu.Lock()
	srv.status = http.StatusOK
	srv.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("wait-ready: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not ready after the probe answered 200")
	}
	for _, r := range srv.requests() {
		if r != "GET /ready" {
			t.Errorf("probe request %q, want GET /ready", r)
		}
	}
}
