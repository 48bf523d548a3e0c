package compose

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/strategies"
)

// defaults is the policy a service gets when nothing is set.
var defaults = strategies.UpdatePolicy{BatchSize: 1, Order: "start-first", FailureAction: "rollback", Monitor: 5 * time.Second}

// TestUpdatePolicy_Precedence: cutover's defaults, then the stack's
// x-cutover.rolling, then the service's deploy.update_config (or
// rollback_config), each field on its own.
func TestUpdatePolicy_Precedence(t *testing.T) {
	u64 := func(n uint64) *uint64 { return &n }
	i := func(n int) *int { return &n }
	f := func(x float64) *float64 { return &x }
	stack := &Rolling{BatchSize: i(3), Interval: dur(2 * time.Second), Order: "stop-first", FailureAction: "pause",
		Monitor: dur(30 * time.Second), MaxFailureRatio: f(0.5), AllowStopFirst: true}
	tests := []struct {
		desc  string
		stack *Rolling
		svc   *types.UpdateConfig
		want  strategies.UpdatePolicy
	}{
		{desc: "nothing set: defaults", want: defaults},
		{desc: "empty blocks: defaults", stack: &Rolling{}, svc: &types.UpdateConfig{}, want: defaults},
		{
			desc:  "x-cutover.rolling beats the defaults",
			stack: stack,
			want: strategies.UpdatePolicy{BatchSize: 3, Interval: 2 * time.Second, Order: "stop-first", FailureAction: "pause",
				Monitor: 30 * time.Second, MaxFailureRatio: 0.5, AllowStopFirst: true},
		},
		{
			desc:  "x-cutover.rolling sets some fields, defaults keep the others",
			stack: &Rolling{Interval: dur(time.Second), MaxFailureRatio: f(0.25)},
			want: strategies.UpdatePolicy{BatchSize: 1, Interval: time.Second, Order: "start-first", FailureAction: "rollback",
				Monitor: 5 * time.Second, MaxFailureRatio: 0.25},
		},
		{
			desc:  "update_config beats x-cutover.rolling field by field",
			stack: stack,
			svc:   &types.UpdateConfig{Parallelism: u64(2), Order: "start-first", Monitor: types.Duration(time.Minute)},
			want: strategies.UpdatePolicy{BatchSize: 2, Interval: 2 * time.Second, Order: "start-first", FailureAction: "pause",
				Monitor: time.Minute, MaxFailureRatio: 0.5, AllowStopFirst: true},
		},
		{
			desc: "update_config beats the defaults",
			svc: &types.UpdateConfig{Parallelism: u64(4), Delay: types.Duration(10 * time.Second), FailureAction: "continue",
				Monitor: types.Duration(time.Second), MaxFailureRatio: 0.2, Order: "stop-first"},
			want: strategies.UpdatePolicy{BatchSize: 4, Interval: 10 * time.Second, Order: "stop-first", FailureAction: "continue",
				Monitor: time.Second, MaxFailureRatio: 0.2},
		},
		{
			desc:  "parallelism 0 replaces every container at once, as swarm does",
			stack: &Rolling{BatchSize: i(2)},
			svc:   &types.UpdateConfig{Parallelism: u64(0)},
			want:  strategies.UpdatePolicy{BatchSize: strategies.BatchAll, Order: "start-first", FailureAction: "rollback", Monitor: 5 * time.Second},
		},
		{
			desc:  "update_config without parallelism keeps the stack's batch size",
			stack: &Rolling{BatchSize: i(2)},
			svc:   &types.UpdateConfig{Order: "stop-first"},
			want:  strategies.UpdatePolicy{BatchSize: 2, Order: "stop-first", FailureAction: "rollback", Monitor: 5 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := updatePolicy(tt.stack, tt.svc); got != tt.want {
				t.Errorf("updatePolicy = %+v\nwant            %+v", got, tt.want)
			}
		})
	}
}

// TestUpdatePolicy_MaxFailureRatioFloat32: compose keeps max_failure_ratio
// as a float32; the policy must carry the number the user wrote, so that
// 0.7 of 10 replicas tolerates 7 failures, not 6.
func TestUpdatePolicy_MaxFailureRatioFloat32(t *testing.T) {
	for _, tt := range []struct {
		ratio    float32
		replicas int
		want     int
	}{
		{0.7, 10, 7}, {0.9, 10, 9}, {0.3, 10, 3}, {0.1, 10, 1}, {0.29, 100, 29}, {0.5, 3, 1},
	} {
		p := updatePolicy(nil, &types.UpdateConfig{MaxFailureRatio: tt.ratio})
		if got := p.MaxFailures(tt.replicas); got != tt.want {
			t.Errorf("max_failure_ratio %g (policy %v) of %d replicas tolerates %d, want %d", tt.ratio, p.MaxFailureRatio, tt.replicas, got, tt.want)
		}
	}
}

// TestDesired_UpdatePolicy loads the policies from a compose file: the
// stack's x-cutover.rolling applies to every service, update_config and
// rollback_config to their own service and direction.
func TestDesired_UpdatePolicy(t *testing.T) {
	st := loadYAML(t, `
name: shop
x-cutover:
  rolling:
    batch_size: 2
    interval: 3s
    monitor: 20s
    max_failure_ratio: 0.25
    allow_stop_first: true
services:
  web:
    image: web
    deploy:
      replicas: 4
      update_config:
        parallelism: 3
        delay: 1s
        order: stop-first
        failure_action: pause
        max_failure_ratio: 0.7
      rollback_config:
        parallelism: 4
        monitor: 0s
  worker:
    image: worker
`)
	d := mustDesired(t, st, 1)
	web, worker := service(t, d, "web"), service(t, d, "worker")
	wantWebUpdate := strategies.UpdatePolicy{BatchSize: 3, Interval: time.Second, Order: "stop-first", FailureAction: "pause",
		Monitor: 20 * time.Second, MaxFailureRatio: 0.7, AllowStopFirst: true}
	if web.Update != wantWebUpdate {
		t.Errorf("web update policy %+v\nwant                   %+v", web.Update, wantWebUpdate)
	}
	// monitor: 0s cannot be told from an absent monitor in compose-go's
	// types, so the stack's 20s stays.
	wantWebRollback := strategies.UpdatePolicy{BatchSize: 4, Interval: 3 * time.Second, Order: "start-first", FailureAction: "rollback",
		Monitor: 20 * time.Second, MaxFailureRatio: 0.25, AllowStopFirst: true}
	if web.Rollback != wantWebRollback {
		t.Errorf("web rollback policy %+v\nwant                     %+v", web.Rollback, wantWebRollback)
	}
	wantWorker := strategies.UpdatePolicy{BatchSize: 2, Interval: 3 * time.Second, Order: "start-first", FailureAction: "rollback",
		Monitor: 20 * time.Second, MaxFailureRatio: 0.25, AllowStopFirst: true}
	if worker.Update != wantWorker || worker.Rollback != wantWorker {
		t.Errorf("worker policies %+v / %+v, want both %+v", worker.Update, worker.Rollback, wantWorker)
	}
	if got := web.Update.MaxFailures(web.Replicas); got != 2 {
		t.Errorf("web tolerates %d failed containers of 4 at ratio 0.7, want 2", got)
	}
}

func TestDesired_UpdatePolicyDefaults(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  web:\n    image: web\n")
	web := service(t, mustDesired(t, st, 1), "web")
	if web.Update != defaults || web.Rollback != defaults {
		t.Errorf("policies %+v / %+v, want cutover's defaults %+v", web.Update, web.Rollback, defaults)
	}
}

func TestLoad_RollingErrors(t *testing.T) {
	tests := []struct {
		desc    string
		stack   string // the stack's x-cutover body
		service string // web's extra lines (indented 4)
		want    []string
	}{
		{desc: "batch_size 0", stack: "{rolling: {batch_size: 0}}", want: []string{"x-cutover.rolling.batch_size", "at least 1", "got 0"}},
		{desc: "negative batch_size", stack: "{rolling: {batch_size: -2}}", want: []string{"x-cutover.rolling.batch_size", "got -2"}},
		{desc: "unknown order", stack: "{rolling: {order: sideways}}", want: []string{"x-cutover.rolling.order", `"sideways"`, "start-first, stop-first"}},
		{desc: "unknown failure_action", stack: "{rolling: {failure_action: explode}}",
			want: []string{"x-cutover.rolling.failure_action", `"explode"`, "rollback, pause, continue"}},
		{desc: "max_failure_ratio above 1", stack: "{rolling: {max_failure_ratio: 1.5}}", want: []string{"x-cutover.rolling.max_failure_ratio", "between 0 and 1", "1.5"}},
		{desc: "negative max_failure_ratio", stack: "{rolling: {max_failure_ratio: -0.1}}", want: []string{"x-cutover.rolling.max_failure_ratio", "-0.1"}},
		{desc: "negative interval", stack: "{rolling: {interval: -1s}}", want: []string{"x-cutover.rolling.interval", "negative"}},
		{desc: "negative monitor", stack: "{rolling: {monitor: -5s}}", want: []string{"x-cutover.rolling.monitor", "negative"}},
		{desc: "unknown rolling key", stack: "{rolling: {batchsize: 2}}", want: []string{"stack.yaml", "x-cutover.rolling.batchsize", "unknown field", "batch_size"}},
		{desc: "unparsable interval", stack: "{rolling: {interval: often}}", want: []string{"x-cutover", "often"}},
		{desc: "update_config failure_action", service: "deploy: {update_config: {failure_action: explode}}",
			want: []string{"services.web.deploy.update_config.failure_action", `"explode"`}},
		{desc: "rollback_config max_failure_ratio", service: "deploy: {rollback_config: {max_failure_ratio: 2}}",
			want: []string{"services.web.deploy.rollback_config.max_failure_ratio", "between 0 and 1", "got 2"}},
		{desc: "update_config order", service: "deploy: {update_config: {order: sideways}}",
			// compose-go's schema rejects it before cutover looks.
			want: []string{"stack.yaml", "services.web.deploy.update_config.order", "start-first", "stop-first"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			y := "name: shop\n"
			if tt.stack != "" {
				y += "x-cutover: " + tt.stack + "\n"
			}
			y += "services:\n  web:\n    image: web\n"
			if tt.service != "" {
				y += "    " + tt.service + "\n"
			}
			f := writeFile(t, t.TempDir(), "stack.yaml", y)
			err := loadErr(t, LoadOptions{Files: []string{f}})
			wantErrContains(t, err, tt.want...)
		})
	}
}

func TestLoad_RollingDecode(t *testing.T) {
	st := loadYAML(t, `
name: shop
x-cutover:
  strategy: rolling
  rolling: {batch_size: 2, interval: 1500ms, order: stop-first, failure_action: continue, monitor: 1m, max_failure_ratio: 0.5, allow_stop_first: true}
services:
  web: {image: web}
`)
	two, half := 2, 0.5
	want := &Rolling{BatchSize: &two, Interval: dur(1500 * time.Millisecond), Order: "stop-first", FailureAction: "continue",
		Monitor: dur(time.Minute), MaxFailureRatio: &half, AllowStopFirst: true}
	if !reflect.DeepEqual(st.Ext.Rolling, want) {
		t.Errorf("x-cutover.rolling = %+v, want %+v", st.Ext.Rolling, want)
	}
}

func TestDesired_FixedHostPorts(t *testing.T) {
	tests := []struct {
		desc  string
		ports string
		want  []string
	}{
		{desc: "no ports", ports: "[]", want: nil},
		{desc: "container port only: the engine picks the host port", ports: `["80"]`, want: nil},
		{desc: "host port 0 is ephemeral", ports: `["0:80"]`, want: nil},
		{desc: "fixed host port", ports: `["8080:80"]`, want: []string{"8080/tcp"}},
		{desc: "host IP and udp", ports: `["127.0.0.1:5353:53/udp"]`, want: []string{"127.0.0.1:5353/udp"}},
		{desc: "sorted, ephemeral ones left out", ports: `["9090:90", "80", "8080:80"]`, want: []string{"8080/tcp", "9090/tcp"}},
		{desc: "long syntax", ports: `[{target: 80, published: "8443", protocol: tcp}, {target: 81}]`, want: []string{"8443/tcp"}},
		{desc: "a range is every port in it", ports: `["8000-8001:80-81"]`, want: []string{"8000/tcp", "8001/tcp"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st := loadYAML(t, "name: shop\nservices:\n  web:\n    image: web\n    ports: "+tt.ports+"\n")
			got := service(t, mustDesired(t, st, 1), "web").FixedHostPorts
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FixedHostPorts = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoadSpec_RoundTrip: the spec a release records loads back into the
// same stack: x-cutover blocks at both levels survive, images are pinned
// and a build section is dropped (the release ran that image), and the
// containers it describes hash the same, so `rollback --to N` onto what
// runs replaces nothing that did not change.
func TestLoadSpec_RoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "api/Dockerfile", "FROM scratch\n")
	f := writeFile(t, dir, "compose.yaml", `
name: shop
x-cutover:
  strategy: rolling
  health_timeout: 45s
  auto_confirm: 10m
  rolling: {batch_size: 2, interval: 1s, max_failure_ratio: 0.5}
services:
  web:
    image: myorg/web:1.4
    ports: ["8080:80"]
    environment: {GREETING: "hello $$USER"}
    deploy:
      replicas: 3
      update_config: {parallelism: 1, order: stop-first}
    depends_on: [api]
    x-cutover:
      route: {port: 80, health: /healthz}
      watch: {tags: "semver:^1.4"}
      min_ready: 1s
  api:
    build: ./api
    volumes: ["data:/data", "./conf:/conf:ro"]
    x-cutover: {shared: true}
volumes:
  data: {}
`)
	st := mustLoad(t, LoadOptions{Files: []string{f}})
	pinned := map[string]string{"web": "myorg/web@sha256:" + strings.Repeat("a", 64), "api": "shop-api:r3"}
	spec, err := st.Spec(pinned)
	if err != nil {
		t.Fatal(err)
	}
	var model map[string]any
	if err := json.Unmarshal(spec, &model); err != nil {
		t.Fatalf("spec is not JSON: %v", err)
	}

	back, err := LoadSpec(context.Background(), "shop", dir, spec)
	if err != nil {
		t.Fatalf("LoadSpec: %v\nspec: %s", err, spec)
	}
	if back.Name != "shop" || !reflect.DeepEqual(back.ServiceNames(), []string{"api", "web"}) {
		t.Errorf("loaded back as %s with services %v", back.Name, back.ServiceNames())
	}
	if !reflect.DeepEqual(back.Ext, st.Ext) {
		t.Errorf("stack x-cutover after the round trip %+v, want %+v", back.Ext, st.Ext)
	}
	if !reflect.DeepEqual(back.Services, st.Services) {
		t.Errorf("service x-cutover after the round trip %+v, want %+v", back.Services, st.Services)
	}
	for svc, ref := range pinned {
		got := back.Project.Services[svc]
		if got.Image != ref {
			t.Errorf("%s image %q, want the pinned %q", svc, got.Image, ref)
		}
		if got.Build != nil {
			t.Errorf("%s still has a build section: %+v", svc, got.Build)
		}
	}
	web := back.Project.Services["web"]
	if env := web.Environment["GREETING"]; env == nil || *env != "hello $USER" {
		t.Errorf("GREETING = %v: interpolated again on the way back", env)
	}

	// The same images give the same containers.
	images := map[string]ResolvedImage{"web": {Ref: pinned["web"], ID: "sha256:web"}, "api": {Ref: pinned["api"], ID: "sha256:api"}}
	want, err := st.Desired(4, images)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Desired(4, images)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(serviceNames(got), serviceNames(want)) {
		t.Fatalf("dependency order %v after the round trip, want %v", serviceNames(got), serviceNames(want))
	}
	for i, w := range want.Services {
		g := got.Services[i]
		if g.Hash != w.Hash {
			t.Errorf("%s: hash %s after the round trip, want %s", w.Name, g.Hash, w.Hash)
		}
		if g.Replicas != w.Replicas || g.Update != w.Update || g.Rollback != w.Rollback || !reflect.DeepEqual(g.Ready, w.Ready) ||
			!reflect.DeepEqual(g.FixedHostPorts, w.FixedHostPorts) {
			t.Errorf("%s after the round trip: %+v\nwant %+v", w.Name, g, w)
		}
		if !reflect.DeepEqual(g.Template.Mounts, w.Template.Mounts) || !reflect.DeepEqual(g.Template.Env, w.Template.Env) ||
			!reflect.DeepEqual(g.Template.Ports, w.Template.Ports) {
			t.Errorf("%s container after the round trip: mounts %+v env %v ports %+v\nwant mounts %+v env %v ports %+v", w.Name,
				g.Template.Mounts, g.Template.Env, g.Template.Ports, w.Template.Mounts, w.Template.Env, w.Template.Ports)
		}
	}
	if !reflect.DeepEqual(got.Volumes, want.Volumes) || !reflect.DeepEqual(got.Networks, want.Networks) {
		t.Errorf("volumes %+v networks %+v after the round trip, want %+v %+v", got.Volumes, got.Networks, want.Volumes, want.Networks)
	}

	// A spec recorded from the loaded spec is the same spec.
	again, err := back.Spec(pinned)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(spec) {
		t.Errorf("spec changed on a second round trip:\n%s\nthen:\n%s", spec, again)
	}
}

func TestLoadSpec_Empty(t *testing.T) {
	if _, err := LoadSpec(context.Background(), "shop", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no recorded spec") {
		t.Errorf("LoadSpec(nil): %v", err)
	}
}
