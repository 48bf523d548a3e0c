package rolling_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rolling"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the plans the strategy makes now")

const stack = "hello"

// policy is a rolling policy: batch size, interval, order and monitor.
func policy(batch int, interval time.Duration, order string, monitor time.Duration) strategies.UpdatePolicy {
	return strategies.UpdatePolicy{BatchSize: batch, Interval: interval, Order: order, FailureAction: "rollback", Monitor: monitor}
}

// service returns the desired state of a service of stack "hello" running
// image (whose local ID is derived from the reference) with the given
// configuration revision, rolled and rolled back one at a time, start-first,
// without an interval or a monitor window unless a test sets them.
func service(name, image string, replicas int, config string) strategies.Service {
	hash := "cfg-" + name + "-" + config + "/" + imageID(image)
	return strategies.Service{
		Name:     name,
		Replicas: replicas,
		Hash:     hash,
		Template: engine.ContainerSpec{
			Image: image,
			Labels: map[string]string{
				compose.LabelProject:    stack,
				compose.LabelService:    name,
				compose.LabelOneoff:     "False",
				compose.LabelConfigHash: "cfg-" + name + "-" + config,
				compose.LabelImage:      imageID(image),
				compose.LabelStack:      stack,
			},
			Networks: []engine.NetworkAttachment{{Network: stack + "_default", Aliases: []string{name}}},
		},
		Ready:       strategies.ReadyPolicy{HealthTimeout: 2 * time.Minute, MinReady: 2 * time.Second},
		Update:      policy(1, 0, "start-first", 0),
		Rollback:    policy(1, 0, "start-first", 0),
		LabelNumber: compose.LabelNumber,
		NamePrefix:  stack + "-" + name + "-",
	}
}

// withUpdate is svc rolled by p.
func withUpdate(svc strategies.Service, p strategies.UpdatePolicy) strategies.Service {
	svc.Update = p
	return svc
}

// withRollback is svc rolled back by p.
func withRollback(svc strategies.Service, p strategies.UpdatePolicy) strategies.Service {
	svc.Rollback = p
	return svc
}

func imageID(ref string) string {
	return "sha256:" + strings.NewReplacer(":", "-", "/", "-").Replace(ref)
}

// observed is replica n of svc as the snapshot sees it, created by release.
func observed(svc strategies.Service, n int, state string, release int) strategies.Observed {
	spec := svc.Container(n)
	spec.Labels[compose.LabelRelease] = strconv.Itoa(release)
	return strategies.Observed{
		Container: engine.Container{
			ID: "id-" + spec.Name, Name: spec.Name, Image: spec.Image, ImageID: imageID(spec.Image),
			Labels: spec.Labels, State: state,
		},
		Service: svc.Name, Number: n, Release: release, Hash: svc.Hash,
	}
}

// running lists replicas 1..n of svc running, created by release.
func running(svc strategies.Service, n, release int) []strategies.Observed {
	var out []strategies.Observed
	for i := 1; i <= n; i++ {
		out = append(out, observed(svc, i, "running", release))
	}
	return out
}

// renamed is o under another name.
func renamed(o strategies.Observed, name string) strategies.Observed {
	o.Name = name
	return o
}

// swapped is what a rolling release leaves for replicas 1..n while it
// awaits confirmation: next's container running under the compose name and
// prev's stopped as <name>_old.
func swapped(prev, next strategies.Service, n, prevRelease, release int) []strategies.Observed {
	var out []strategies.Observed
	for i := 1; i <= n; i++ {
		out = append(out, observed(next, i, "running", release))
		old := observed(prev, i, "exited", prevRelease)
		out = append(out, renamed(old, old.Name+strategies.SuffixOld))
	}
	return out
}

// inColor is what blue-green left of the stack: replicas 1..n of svc in
// color's project, in state, created by release.
func inColor(s strategies.Snapshot, svc strategies.Service, color string, n int, state string, release int) strategies.Snapshot {
	if s.Colors == nil {
		s.Colors = map[string]map[string][]strategies.Observed{}
	}
	if s.Colors[color] == nil {
		s.Colors[color] = map[string][]strategies.Observed{}
	}
	for i := 1; i <= n; i++ {
		o := observed(svc, i, state, release)
		o.Name = stack + "-" + color + "-" + svc.Name + "-" + strconv.Itoa(i)
		o.Labels[compose.LabelProject] = stack + "-" + color
		o.Labels[compose.LabelColor] = color
		s.Colors[color][svc.Name] = append(s.Colors[color][svc.Name], o)
	}
	return s
}

func network() engine.NetworkSpec {
	return engine.NetworkSpec{Name: stack + "_default", Labels: map[string]string{compose.LabelProject: stack, compose.LabelNetwork: "default"}}
}

// desired is release n of the stack with its network.
func desired(release int, services ...strategies.Service) strategies.Desired {
	return strategies.Desired{Stack: stack, Release: release, Networks: []engine.NetworkSpec{network()}, Services: services}
}

// routed routes service api of d through the proxy on :8080.
func routed(d strategies.Desired) strategies.Desired {
	d.Routes = append(d.Routes, strategies.Route{Service: "api", Port: 80, Network: stack + "_default",
		Route: lb.Route{Name: stack + "/api", Listen: ":8080", Health: lb.Health{Path: "/healthz"}}})
	return d
}

// snapshot is a stack whose network exists, running containers.
func snapshot(containers ...[]strategies.Observed) strategies.Snapshot {
	s := strategies.Snapshot{Stack: stack, Containers: map[string][]strategies.Observed{},
		Networks: map[string]bool{stack + "_default": true}, Volumes: map[string]bool{}}
	for _, cs := range containers {
		for _, c := range cs {
			s.Containers[c.Service] = append(s.Containers[c.Service], c)
		}
	}
	for svc := range s.Containers {
		strategies.SortObserved(s.Containers[svc])
	}
	return s
}

func TestPlan_Golden(t *testing.T) {
	// "api" depends on "postgres": dependencies come first in Desired, and
	// the plan must keep that order even though "api" sorts first.
	pg1 := service("postgres", "postgres:16", 1, "1")
	pg2 := service("postgres", "postgres:17", 1, "1")
	api1 := service("api", "hello:1", 4, "1")
	api2 := service("api", "hello:2", 4, "1")
	fixedPort := func(svc strategies.Service, p strategies.UpdatePolicy) strategies.Service {
		svc = withUpdate(svc, p)
		svc.FixedHostPorts = []string{"8080/tcp"}
		return svc
	}
	allowStopFirst := policy(2, 0, "start-first", 0)
	allowStopFirst.AllowStopFirst = true

	tests := []struct {
		desc    string
		golden  string
		current strategies.Snapshot
		want    strategies.Desired
	}{
		{
			desc:    "batch 1 start-first: four batches, a 1s interval between them (none before the first), monitor at the end",
			golden:  "batch1_start_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, withUpdate(api2, policy(1, time.Second, "start-first", 10*time.Second))),
		},
		{
			desc:    "batch 2 start-first: two full batches",
			golden:  "batch2_start_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, withUpdate(api2, policy(2, time.Second, "start-first", 10*time.Second))),
		},
		{
			desc:    "batch 3 start-first: a batch of 3, then a partial batch of 1",
			golden:  "batch3_start_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, withUpdate(api2, policy(3, time.Second, "start-first", 10*time.Second))),
		},
		{
			desc:    "batch 2 stop-first: the old containers stop before the new ones start",
			golden:  "batch2_stop_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, withUpdate(api2, policy(2, time.Second, "stop-first", 10*time.Second))),
		},
		{
			desc:    "batch 3 stop-first, no interval and no monitor window",
			golden:  "batch3_stop_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, withUpdate(api2, policy(3, 0, "stop-first", 0))),
		},
		{
			desc:    "routed, batch 2 start-first: new containers join the route when ready, old ones drain before they stop",
			golden:  "routed_start_first",
			current: snapshot(running(api1, 4, 1)),
			want:    routed(desired(2, withUpdate(api2, policy(2, 0, "start-first", 0)))),
		},
		{
			desc:    "routed, batch 2 stop-first: old containers drain first, new ones join when ready",
			golden:  "routed_stop_first",
			current: snapshot(running(api1, 4, 1)),
			want:    routed(desired(2, withUpdate(api2, policy(2, 0, "stop-first", 0)))),
		},
		{
			desc:    "first deploy: nothing to replace or keep, no confirm steps",
			golden:  "first_deploy",
			current: strategies.Snapshot{Stack: stack},
			want:    desired(1, pg1, withUpdate(api1, policy(2, 0, "start-first", 5*time.Second))),
		},
		{
			desc:    "two services change: the dependency rolls (and is monitored) before its dependent",
			golden:  "dependency_order",
			current: snapshot(running(pg1, 1, 1), running(service("api", "hello:1", 2, "1"), 2, 1)),
			want: desired(2, withUpdate(pg2, policy(1, 0, "stop-first", 5*time.Second)),
				withUpdate(service("api", "hello:2", 2, "1"), policy(1, time.Second, "start-first", 5*time.Second))),
		},
		{
			desc:    "nothing changed: no steps, no monitor",
			golden:  "no_changes",
			current: snapshot(running(pg1, 1, 1), running(api1, 4, 1)),
			want:    desired(2, pg1, withUpdate(api1, policy(2, time.Second, "start-first", 10*time.Second))),
		},
		{
			desc:    "scale up from 2 to 4, same image: replicas 3 and 4 are added in one batch, 1 and 2 untouched",
			golden:  "scale_up",
			current: snapshot(running(service("api", "hello:1", 2, "1"), 2, 1)),
			want:    desired(2, withUpdate(api1, policy(2, time.Second, "start-first", 5*time.Second))),
		},
		{
			desc:    "scale up from 2 to 3 with a new image: 1 and 2 are replaced, 3 is new",
			golden:  "scale_up_new_image",
			current: snapshot(running(service("api", "hello:1", 2, "1"), 2, 1)),
			want:    desired(2, withUpdate(service("api", "hello:2", 3, "1"), policy(2, 0, "start-first", 0))),
		},
		{
			desc:    "scale down from 4 to 2: 3 and 4 stop now (kept for rollback) and are removed on confirm",
			golden:  "scale_down",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, withUpdate(service("api", "hello:1", 2, "1"), policy(2, 0, "start-first", 5*time.Second))),
		},
		{
			desc:   "a service no longer in the stack stops now (if running) and is removed on confirm",
			golden: "orphan_service",
			current: snapshot(running(pg1, 1, 1), []strategies.Observed{
				observed(service("worker", "hello:1", 2, "1"), 1, "running", 1),
				observed(service("worker", "hello:1", 2, "1"), 2, "exited", 1),
			}),
			want: desired(2, pg1),
		},
		{
			desc:   "an up-to-date container that is stopped is started again, not replaced, and monitored",
			golden: "restart_stopped",
			current: snapshot([]strategies.Observed{
				observed(api1, 1, "running", 1), observed(api1, 2, "exited", 1),
				observed(api1, 3, "running", 1), observed(api1, 4, "created", 1),
			}),
			want: desired(2, withUpdate(api1, policy(1, time.Second, "start-first", 5*time.Second))),
		},
		{
			desc: "temp-named leftovers of an interrupted deploy are removed before anything else",
			// Release 3 was interrupted after hello-api-1 took its new
			// container and before hello-api-2's new one took its name.
			golden: "leftovers",
			current: snapshot([]strategies.Observed{
				observed(api2, 1, "running", 3),
				renamed(observed(api1, 1, "exited", 2), "hello-api-1_old"),
				observed(api1, 2, "running", 2),
				renamed(observed(api2, 2, "running", 3), "hello-api-2_new"),
				observed(api1, 3, "running", 2),
				observed(api1, 4, "running", 2),
			}),
			want: desired(4, withUpdate(api2, policy(2, 0, "start-first", 0))),
		},
		{
			desc:    "a fixed host port with start-first allowed to fall back: stop-first, and a note says so",
			golden:  "fixed_port_allow_stop_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, fixedPort(api2, allowStopFirst)),
		},
		{
			desc:    "leaving blue-green: the new containers join the route, then the serving color drains and stops (removed at confirm)",
			golden:  "leave_bluegreen",
			current: inColor(snapshot(), api1, "green", 2, "running", 1),
			want:    routed(desired(2, withUpdate(service("api", "hello:2", 2, "1"), policy(2, 0, "start-first", 0)))),
		},
		{
			desc:    "a fixed host port rolled stop-first as asked: no note",
			golden:  "fixed_port_stop_first",
			current: snapshot(running(api1, 4, 1)),
			want:    desired(2, fixedPort(api2, policy(2, 0, "stop-first", 0))),
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			plan, err := rolling.Rolling{}.Plan(tt.current, tt.want)
			if err != nil {
				t.Fatalf("%s: Plan: %v", tt.desc, err)
			}
			got := plan.String()
			again, err := rolling.Rolling{}.Plan(tt.current, tt.want)
			if err != nil || again.String() != got {
				t.Fatalf("%s: Plan is not deterministic:\n%s\nthen:\n%s", tt.desc, got, again)
			}
			checkGolden(t, tt.golden, "# "+tt.desc+"\n"+got)
		})
	}
}

// TestPlan_BatchShape checks the batch structure independently of the
// golden files: batch sizes, where the sleeps are, and what the monitor
// step watches.
func TestPlan_BatchShape(t *testing.T) {
	api1 := service("api", "hello:1", 4, "1")
	api2 := service("api", "hello:2", 4, "1")
	for _, tt := range []struct {
		batch   int
		batches []int // containers created per batch
	}{
		{batch: 0, batches: []int{1, 1, 1, 1}}, // unset rolls one at a time
		{batch: 1, batches: []int{1, 1, 1, 1}},
		{batch: 2, batches: []int{2, 2}},
		{batch: 3, batches: []int{3, 1}},
		{batch: 4, batches: []int{4}},
		{batch: 9, batches: []int{4}},
		{batch: strategies.BatchAll, batches: []int{4}}, // compose parallelism 0
	} {
		for _, order := range []string{"start-first", "stop-first"} {
			svc := withUpdate(api2, policy(tt.batch, 3*time.Second, order, 7*time.Second))
			plan, err := rolling.Rolling{}.Plan(snapshot(running(api1, 4, 1)), desired(2, svc))
			if err != nil {
				t.Fatal(err)
			}
			var batches []int
			creates := 0
			var monitor *strategies.Step
			for i, s := range plan.Steps {
				switch s.Action {
				case strategies.ActionSleep:
					if creates == 0 {
						t.Errorf("batch %d %s: a sleep before the first batch", tt.batch, order)
					}
					if s.Duration != 3*time.Second {
						t.Errorf("batch %d %s: sleep %s, want the 3s interval", tt.batch, order, s.Duration)
					}
					batches, creates = append(batches, creates), 0
				case strategies.ActionCreate:
					creates++
				case strategies.ActionMonitor:
					if i != len(plan.Steps)-1 {
						t.Errorf("batch %d %s: monitor is step %d of %d, want the last", tt.batch, order, i+1, len(plan.Steps))
					}
					monitor = &plan.Steps[i]
				}
			}
			batches = append(batches, creates)
			if !equalInts(batches, tt.batches) {
				t.Errorf("batch %d %s: batches %v, want %v", tt.batch, order, batches, tt.batches)
			}
			want := "hello-api-1, hello-api-2, hello-api-3, hello-api-4"
			if monitor == nil || monitor.Target() != want || monitor.Duration != 7*time.Second || monitor.Service != "api" {
				t.Errorf("batch %d %s: monitor step %+v, want one watching %s for 7s", tt.batch, order, monitor, want)
			}
			if len(plan.Confirm) != 4 {
				t.Errorf("batch %d %s: %d confirm steps, want 4 removals of _old", tt.batch, order, len(plan.Confirm))
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPlan_StartFirstNeverBelowCapacity simulates a start-first plan step
// by step: at no point may fewer than the wanted replicas be running.
func TestPlan_StartFirstNeverBelowCapacity(t *testing.T) {
	api1 := service("api", "hello:1", 4, "1")
	for _, batch := range []int{1, 2, 3, 4} {
		svc := withUpdate(service("api", "hello:2", 4, "1"), policy(batch, time.Second, "start-first", time.Second))
		plan, err := rolling.Rolling{}.Plan(snapshot(running(api1, 4, 1)), desired(2, svc))
		if err != nil {
			t.Fatal(err)
		}
		run := map[string]bool{}
		for n := 1; n <= 4; n++ {
			run["hello-api-"+strconv.Itoa(n)] = true
		}
		count := func() int {
			n := 0
			for _, r := range run {
				if r {
					n++
				}
			}
			return n
		}
		for i, s := range plan.Steps {
			switch s.Action {
			case strategies.ActionStart:
				run[s.Container] = true
			case strategies.ActionStop:
				run[s.Container] = false
			case strategies.ActionRename:
				run[s.NewName], run[s.Container] = run[s.Container], false
			}
			if c := count(); c < 4 {
				t.Errorf("batch %d: after step %d (%s) only %d containers run", batch, i+1, s, c)
			}
		}
	}
}

func TestPlan_FixedHostPortStartFirst(t *testing.T) {
	web := withUpdate(service("web", "hello:2", 2, "1"), policy(1, 0, "start-first", 0))
	web.FixedHostPorts = []string{"127.0.0.1:8080/tcp", "8443/tcp"}
	_, err := rolling.Rolling{}.Plan(snapshot(running(service("web", "hello:1", 2, "1"), 2, 1)), desired(2, web))
	if err == nil {
		t.Fatal("Plan accepted start-first for a service publishing a fixed host port")
	}
	for _, want := range []string{"service web", "host port 127.0.0.1:8080/tcp, 8443/tcp", "start-first",
		"--order stop-first", "deploy.update_config.order", "--allow-stop-first", "x-cutover.rolling.allow_stop_first: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// An empty order means start-first, the default: the same error.
	web.Update.Order = ""
	if _, err := (rolling.Rolling{}).Plan(strategies.Snapshot{Stack: stack}, desired(1, web)); err == nil {
		t.Error("Plan accepted the default order (start-first) for a service publishing a fixed host port")
	}

	// The rollback policy is checked the same way.
	prev := withRollback(service("web", "hello:1", 2, "1"), policy(1, 0, "start-first", 0))
	prev.FixedHostPorts = web.FixedHostPorts
	_, err = rolling.RollbackPlan(snapshot(swapped(prev, service("web", "hello:2", 2, "1"), 2, 1, 2)), desired(1, prev), 2)
	if err == nil || !strings.Contains(err.Error(), "rollback: service web publishes host port") {
		t.Errorf("RollbackPlan: %v, want the fixed-port error", err)
	}
}

func TestPlan_FixedHostPortAllowStopFirst(t *testing.T) {
	p := policy(2, 0, "start-first", 0)
	p.AllowStopFirst = true
	web := withUpdate(service("web", "hello:2", 2, "1"), p)
	web.FixedHostPorts = []string{"8080/tcp"}
	plan, err := rolling.Rolling{}.Plan(snapshot(running(service("web", "hello:1", 2, "1"), 2, 1)), desired(2, web))
	if err != nil {
		t.Fatal(err)
	}
	want := "service web publishes host port 8080/tcp: rolling stop-first instead of start-first (allowed)"
	if len(plan.Notes) != 1 || plan.Notes[0] != want {
		t.Errorf("notes %q, want [%q]", plan.Notes, want)
	}
	// stop-first: the old container stops before any new one starts.
	firstStop, firstStart := -1, -1
	for i, s := range plan.Steps {
		if s.Action == strategies.ActionStop && firstStop < 0 {
			firstStop = i
		}
		if s.Action == strategies.ActionStart && firstStart < 0 {
			firstStart = i
		}
	}
	if firstStop < 0 || firstStart < firstStop {
		t.Errorf("plan is not stop-first:\n%s", plan)
	}
}

func TestPlan_FailurePolicy(t *testing.T) {
	tests := []struct {
		ratio    float64
		replicas int
		want     int
	}{
		{ratio: 0, replicas: 4, want: 0},
		{ratio: 0.25, replicas: 4, want: 1},
		{ratio: 0.3, replicas: 4, want: 1}, // floor(1.2)
		{ratio: 0.5, replicas: 3, want: 1}, // floor(1.5)
		{ratio: 0.49, replicas: 2, want: 0},
		{ratio: 1, replicas: 4, want: 4},
		{ratio: 0.7, replicas: 10, want: 7},
		{ratio: 0.29, replicas: 100, want: 29}, // 0.29*100 is 28.999999999999996 in float64
		{ratio: 0.57, replicas: 100, want: 57}, // 56.99999999999999
	}
	for _, tt := range tests {
		p := policy(1, 0, "start-first", 0)
		p.MaxFailureRatio = tt.ratio
		p.FailureAction = "pause"
		api := withUpdate(service("api", "hello:2", tt.replicas, "1"), p)
		pg := service("postgres", "postgres:16", 1, "1")
		pg.Update.FailureAction = "continue"
		plan, err := rolling.Rolling{}.Plan(strategies.Snapshot{Stack: stack}, desired(1, pg, api))
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.Failure["api"]; got != (strategies.FailurePolicy{Action: "pause", MaxFailures: tt.want}) {
			t.Errorf("ratio %g of %d replicas: failure policy %+v, want pause with %d tolerated", tt.ratio, tt.replicas, got, tt.want)
		}
		if got := plan.Failure["postgres"]; got != (strategies.FailurePolicy{Action: "continue"}) {
			t.Errorf("postgres failure policy %+v, want continue with 0 tolerated", got)
		}
		if got := p.MaxFailures(tt.replicas); got != tt.want {
			t.Errorf("MaxFailures(%d) with ratio %g = %d, want %d", tt.replicas, tt.ratio, got, tt.want)
		}
	}
}

func TestPlan_ContainerNameWithReplicas(t *testing.T) {
	web := service("web", "hello:1", 2, "1")
	web.FixedName = "web"
	_, err := rolling.Rolling{}.Plan(strategies.Snapshot{Stack: stack}, desired(1, web))
	if err == nil || !strings.Contains(err.Error(), `container_name "web" allows one replica, want 2`) {
		t.Errorf("Plan: %v, want the container_name error", err)
	}
}

// TestPlan_NewContainerSpec: the executor creates the template under the
// temporary name with the replica number, and the template is untouched.
func TestPlan_NewContainerSpec(t *testing.T) {
	api := withUpdate(service("api", "hello:2", 2, "1"), policy(2, 0, "start-first", 0))
	plan, err := rolling.Rolling{}.Plan(snapshot(running(service("api", "hello:1", 2, "1"), 2, 1)), desired(2, api))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range plan.Steps {
		if s.Action != strategies.ActionCreate {
			continue
		}
		n++
		num := strconv.Itoa(n)
		if s.Spec.Name != "hello-api-"+num+"_new" || s.Spec.Labels[compose.LabelNumber] != num || s.Spec.Image != "hello:2" {
			t.Errorf("create step %d: %s number %q image %s", n, s.Spec.Name, s.Spec.Labels[compose.LabelNumber], s.Spec.Image)
		}
	}
	if n != 2 {
		t.Errorf("%d create steps, want 2", n)
	}
	if _, ok := api.Template.Labels[compose.LabelNumber]; ok || api.Template.Name != "" {
		t.Error("Plan changed the service template")
	}
}

func TestRollbackPlan_Golden(t *testing.T) {
	api1 := service("api", "hello:1", 4, "1")
	api2 := service("api", "hello:2", 4, "1")
	pg := service("postgres", "postgres:16", 1, "1")

	tests := []struct {
		desc    string
		golden  string
		current strategies.Snapshot
		prev    strategies.Desired
		release int
	}{
		{
			desc:    "4 swapped replicas, rollback batch 2 start-first: the old containers start next to the new, then take their names back",
			golden:  "rollback_batch2_start_first",
			current: snapshot(running(pg, 1, 1), swapped(api1, api2, 4, 1, 2)),
			prev:    desired(1, pg, withRollback(api1, policy(2, time.Second, "start-first", 0))),
			release: 2,
		},
		{
			desc:    "routed, rollback batch 2 start-first: the old containers rejoin the route before the new ones drain",
			golden:  "rollback_routed_start_first",
			current: snapshot(running(pg, 1, 1), swapped(api1, api2, 4, 1, 2)),
			prev:    routed(desired(1, pg, withRollback(api1, policy(2, 0, "start-first", 0)))),
			release: 2,
		},
		{
			desc:    "4 swapped replicas, rollback batch 2 stop-first",
			golden:  "rollback_batch2_stop_first",
			current: snapshot(running(pg, 1, 1), swapped(api1, api2, 4, 1, 2)),
			prev:    desired(1, pg, withRollback(api1, policy(2, 0, "stop-first", 0))),
			release: 2,
		},
		{
			desc:   "the release scaled up from 2 to 3: the replica it added stops and is removed, 1 and 2 untouched",
			golden: "rollback_scale_up",
			current: snapshot(append(running(service("api", "hello:1", 2, "1"), 2, 1),
				observed(service("api", "hello:1", 3, "1"), 3, "running", 2))),
			prev:    desired(1, service("api", "hello:1", 2, "1")),
			release: 2,
		},
		{
			desc:   "the release scaled up from 2 to 3 with a new image: 1 and 2 swap back, 3 goes",
			golden: "rollback_scale_up_new_image",
			current: snapshot(append(swapped(service("api", "hello:1", 2, "1"), service("api", "hello:2", 3, "1"), 2, 1, 2),
				observed(service("api", "hello:2", 3, "1"), 3, "running", 2))),
			prev:    desired(1, withRollback(service("api", "hello:1", 2, "1"), policy(2, 0, "start-first", 0))),
			release: 2,
		},
		{
			desc:   "the release scaled down from 4 to 2: the replicas it stopped start again",
			golden: "rollback_scale_down",
			current: snapshot([]strategies.Observed{
				observed(api1, 1, "running", 1), observed(api1, 2, "running", 1),
				observed(api1, 3, "exited", 1), observed(api1, 4, "exited", 1),
			}),
			prev:    desired(1, api1),
			release: 2,
		},
		{
			desc:   "a service the release added stops and is removed; the others are untouched",
			golden: "rollback_service_added",
			current: snapshot(running(pg, 1, 1), running(api1, 4, 1), []strategies.Observed{
				observed(service("worker", "hello:2", 2, "1"), 1, "running", 2),
				observed(service("worker", "hello:2", 2, "1"), 2, "exited", 2),
			}),
			prev:    desired(1, pg, api1),
			release: 2,
		},
		{
			desc:   "a release paused in its second start-first batch: 1 and 2 swap back, the started _new containers of 3 and 4 stop and go",
			golden: "rollback_paused_start_first",
			current: snapshot(swapped(api1, api2, 2, 1, 2), []strategies.Observed{
				observed(api1, 3, "running", 1), observed(api1, 4, "running", 1),
				renamed(observed(api2, 3, "running", 2), "hello-api-3_new"),
				renamed(observed(api2, 4, "exited", 2), "hello-api-4_new"),
			}),
			prev:    desired(1, withRollback(api1, policy(2, 0, "start-first", 0))),
			release: 2,
		},
		{
			desc:   "rolling back a release that left blue-green: the color starts and rejoins the route before the release's containers drain",
			golden: "rollback_leave_bluegreen",
			current: inColor(snapshot(running(service("api", "hello:2", 2, "1"), 2, 2)),
				api1, "green", 2, "exited", 1),
			prev: func() strategies.Desired {
				d := routed(desired(1, service("api", "hello:1", 2, "1")))
				d.Color = "green"
				return d
			}(),
			release: 2,
		},
		{
			desc:    "a service the release removed (stopped, kept until confirm) starts again",
			golden:  "rollback_service_removed",
			current: snapshot(running(pg, 1, 1), []strategies.Observed{observed(service("worker", "hello:1", 1, "1"), 1, "exited", 1)}),
			prev:    desired(1, pg, service("worker", "hello:1", 1, "1")),
			release: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			plan, err := rolling.RollbackPlan(tt.current, tt.prev, tt.release)
			if err != nil {
				t.Fatalf("%s: RollbackPlan: %v", tt.desc, err)
			}
			got := plan.String()
			again, err := rolling.RollbackPlan(tt.current, tt.prev, tt.release)
			if err != nil || again.String() != got {
				t.Fatalf("%s: RollbackPlan is not deterministic:\n%s\nthen:\n%s", tt.desc, got, again)
			}
			for svc, pol := range plan.Failure {
				if pol != (strategies.FailurePolicy{Action: "rollback"}) {
					t.Errorf("%s: a failed rollback of %s must undo the rollback, policy %+v", tt.desc, svc, pol)
				}
			}
			checkGolden(t, tt.golden, "# "+tt.desc+"\n"+got)
		})
	}
}

// TestRollbackPlan_EndState simulates a rollback plan on the containers a
// rolling release left: afterwards exactly the previous release's
// containers run under their compose names, and nothing of the release
// remains once the confirm steps ran.
func TestRollbackPlan_EndState(t *testing.T) {
	api1 := service("api", "hello:1", 4, "1")
	api2 := service("api", "hello:2", 4, "1")
	for _, order := range []string{"start-first", "stop-first"} {
		for _, batch := range []int{1, 2, 3} {
			current := snapshot(swapped(api1, api2, 4, 1, 2))
			plan, err := rolling.RollbackPlan(current, desired(1, withRollback(api1, policy(batch, 0, order, 0))), 2)
			if err != nil {
				t.Fatal(err)
			}
			type ctr struct {
				image   string
				running bool
			}
			world := map[string]*ctr{}
			for _, c := range current.Containers["api"] {
				world[c.Name] = &ctr{image: c.Image, running: c.Running()}
			}
			minRunning := 4
			for _, s := range append(append([]strategies.Step{}, plan.Steps...), plan.Confirm...) {
				c := world[s.Container]
				if c == nil {
					t.Fatalf("%s batch %d: step %s acts on a container that does not exist", order, batch, s)
				}
				switch s.Action {
				case strategies.ActionStart:
					c.running = true
				case strategies.ActionStop:
					c.running = false
				case strategies.ActionRename:
					if world[s.NewName] != nil {
						t.Fatalf("%s batch %d: step %s: name taken", order, batch, s)
					}
					world[s.NewName] = c
					delete(world, s.Container)
				case strategies.ActionRemove:
					delete(world, s.Container)
				}
				n := 0
				for _, c := range world {
					if c.running {
						n++
					}
				}
				minRunning = min(minRunning, n)
			}
			if len(world) != 4 {
				t.Errorf("%s batch %d: %d containers remain, want 4", order, batch, len(world))
			}
			for n := 1; n <= 4; n++ {
				c := world["hello-api-"+strconv.Itoa(n)]
				if c == nil || c.image != "hello:1" || !c.running {
					t.Errorf("%s batch %d: hello-api-%d is %+v, want hello:1 running", order, batch, n, c)
				}
			}
			if order == "start-first" && minRunning < 4 {
				t.Errorf("start-first batch %d: only %d containers ran at one point", batch, minRunning)
			}
		}
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("plan differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
