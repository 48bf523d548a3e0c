package recreate_test

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
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/recreate"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the plans the strategy makes now")

const stack = "hello"

// service returns the desired state of a service of stack "hello" running
// image (whose local ID is derived from the reference) with the given
// configuration revision: bumping config changes the hash but not the image.
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
		LabelNumber: compose.LabelNumber,
		NamePrefix:  stack + "-" + name + "-",
	}
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

// renamed is o under another name (a leftover of an interrupted deploy).
func renamed(o strategies.Observed, name string) strategies.Observed {
	o.Name = name
	return o
}

func network() engine.NetworkSpec {
	return engine.NetworkSpec{Name: stack + "_default", Labels: map[string]string{compose.LabelProject: stack, compose.LabelNetwork: "default"}}
}

func volume() engine.VolumeSpec {
	return engine.VolumeSpec{Name: stack + "_pgdata", Labels: map[string]string{compose.LabelProject: stack, compose.LabelVolume: "pgdata"}}
}

// desired is release n of the stack with its network and volume.
func desired(release int, services ...strategies.Service) strategies.Desired {
	return strategies.Desired{Stack: stack, Release: release, Networks: []engine.NetworkSpec{network()},
		Volumes: []engine.VolumeSpec{volume()}, Services: services}
}

// snapshot is a stack whose network and volume exist, running containers.
func snapshot(containers ...[]strategies.Observed) strategies.Snapshot {
	s := strategies.Snapshot{Stack: stack, Containers: map[string][]strategies.Observed{},
		Networks: map[string]bool{stack + "_default": true}, Volumes: map[string]bool{stack + "_pgdata": true}}
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
	pg := service("postgres", "postgres:16", 1, "1")
	api1 := service("api", "hello:1", 2, "1")
	api2 := service("api", "hello:2", 2, "1")

	tests := []struct {
		desc    string
		golden  string
		current strategies.Snapshot
		want    strategies.Desired
	}{
		{
			desc:    "first deploy creates network, volume and every service in dependency order",
			golden:  "first_deploy",
			current: strategies.Snapshot{Stack: stack},
			want:    desired(1, pg, api1),
		},
		{
			desc:    "an image changed for one service replaces only that service",
			golden:  "image_changed",
			current: snapshot(running(pg, 1, 1), running(api1, 2, 1)),
			want:    desired(2, pg, api2),
		},
		{
			desc:    "configuration changed with the same image",
			golden:  "config_changed",
			current: snapshot(running(pg, 1, 1), running(api1, 1, 1)),
			want:    desired(2, pg, service("api", "hello:1", 1, "2")),
		},
		{
			desc:    "nothing changed",
			golden:  "no_changes",
			current: snapshot(running(pg, 1, 1), running(api1, 2, 1)),
			want:    desired(2, pg, api1),
		},
		{
			desc:    "external network and volume are only checked, and change nothing",
			golden:  "no_changes_external",
			current: snapshot(running(api1, 2, 1)),
			want: strategies.Desired{Stack: stack, Release: 2, ExternalNetworks: []string{"traefik"},
				ExternalVolumes: []string{"certs"}, Services: []strategies.Service{api1}},
		},
		{
			desc:    "scale up from 2 to 4 adds replicas 3 and 4 and leaves 1 and 2",
			golden:  "scale_up",
			current: snapshot(running(pg, 1, 1), running(api1, 2, 1)),
			want:    desired(2, pg, service("api", "hello:1", 4, "1")),
		},
		{
			desc:    "scale down from 4 to 2 stops 3 and 4 now and removes them on confirm",
			golden:  "scale_down",
			current: snapshot(running(pg, 1, 1), running(api1, 4, 1)),
			want:    desired(2, pg, service("api", "hello:1", 2, "1")),
		},
		{
			desc: "a service removed from the stack stops now and is removed on confirm",
			// worker-2 is already stopped: nothing to stop, still removed.
			golden: "service_removed",
			current: snapshot(running(pg, 1, 1), running(api1, 2, 1), []strategies.Observed{
				observed(service("worker", "hello:1", 2, "1"), 1, "running", 1),
				observed(service("worker", "hello:1", 2, "1"), 2, "exited", 1),
			}),
			want: desired(2, pg, api1),
		},
		{
			desc:   "temp-named leftovers of an interrupted deploy are removed first",
			golden: "leftovers",
			// Release 3 was interrupted after hello-api-1 took its new
			// container and before the old one was removed.
			current: snapshot(running(pg, 1, 1), []strategies.Observed{
				observed(api2, 1, "running", 3),
				renamed(observed(api2, 2, "created", 3), "hello-api-2_new"),
				renamed(observed(api1, 1, "exited", 2), "hello-api-1_old"),
				observed(api1, 2, "running", 2),
			}),
			want: desired(4, pg, api2),
		},
		{
			desc:    "a stopped container with the current hash is started, not replaced",
			golden:  "stopped_current",
			current: snapshot(running(pg, 1, 1), []strategies.Observed{observed(api1, 1, "exited", 1), observed(api1, 2, "running", 1)}),
			want:    desired(2, pg, api1),
		},
		{
			desc:   "containers docker compose created (no config-hash label) are replaced",
			golden: "not_created_by_cutover",
			current: snapshot(
				[]strategies.Observed{composeMade(pg, 1)},
				[]strategies.Observed{composeMade(api1, 1), composeMade(api1, 2)},
			),
			want: desired(1, pg, api1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			plan, err := recreate.Recreate{}.Plan(tt.current, tt.want)
			if err != nil {
				t.Fatalf("%s: Plan: %v", tt.desc, err)
			}
			got := plan.String()
			again, err := recreate.Recreate{}.Plan(tt.current, tt.want)
			if err != nil || again.String() != got {
				t.Fatalf("%s: Plan is not deterministic:\n%s\nthen:\n%s", tt.desc, got, again)
			}
			checkGolden(t, tt.golden, "# "+tt.desc+"\n"+got)
		})
	}
}

// composeMade is replica n of svc as `docker compose up` made it: compose's
// labels without cutover's hash (the snapshot's Hash is empty).
func composeMade(svc strategies.Service, n int) strategies.Observed {
	o := observed(svc, n, "running", 0)
	o.Hash = ""
	delete(o.Labels, compose.LabelConfigHash)
	delete(o.Labels, compose.LabelRelease)
	delete(o.Labels, compose.LabelStack)
	return o
}

func TestPlan_ContainerNameWithReplicas(t *testing.T) {
	web := service("web", "hello:1", 2, "1")
	web.FixedName = "web"
	_, err := recreate.Recreate{}.Plan(strategies.Snapshot{Stack: stack}, desired(1, web))
	if err == nil {
		t.Fatal("Plan accepted container_name with 2 replicas")
	}
	for _, want := range []string{"service web", `container_name "web"`, "one replica", "want 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestPlan_ContainerNameOneReplica(t *testing.T) {
	web1 := service("web", "hello:1", 1, "1")
	web1.FixedName = "web"
	web2 := service("web", "hello:2", 1, "1")
	web2.FixedName = "web"
	plan, err := recreate.Recreate{}.Plan(snapshot(running(web1, 1, 1)), desired(2, web2))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create         web_new (image hello:2): image changed: hello:1 → hello:2",
		"stop           web: replaced by release 2",
		"rename         web → web_old: keep the old container until the new one is ready",
		"rename         web_new → web: take the compose name",
		"start          web: release 2",
		"wait-ready     web (timeout 2m0s, min ready 2s): health gate",
		"remove         web_old: replaced by release 2",
	}
	var got []string
	for _, s := range append(plan.Steps, plan.Confirm...) {
		got = append(got, s.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan for a container_name service:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPlan_NewContainerSpec checks what the executor will create: the
// template under the temporary name, with the replica number label, and the
// template itself left untouched.
func TestPlan_NewContainerSpec(t *testing.T) {
	api := service("api", "hello:2", 2, "1")
	plan, err := recreate.Recreate{}.Plan(strategies.Snapshot{Stack: stack}, desired(1, api))
	if err != nil {
		t.Fatal(err)
	}
	var specs []*engine.ContainerSpec
	for _, s := range plan.Steps {
		if s.Action == strategies.ActionCreate {
			specs = append(specs, s.Spec)
		}
	}
	if len(specs) != 2 {
		t.Fatalf("got %d create steps, want 2", len(specs))
	}
	for i, spec := range specs {
		n := strconv.Itoa(i + 1)
		if spec.Name != "hello-api-"+n+"_new" {
			t.Errorf("create step %d: name %q, want hello-api-%s_new", i, spec.Name, n)
		}
		if got := spec.Labels[compose.LabelNumber]; got != n {
			t.Errorf("%s: container-number label %q, want %s", spec.Name, got, n)
		}
		if spec.Image != "hello:2" || len(spec.Networks) != 1 {
			t.Errorf("%s: image %q networks %v: template not copied", spec.Name, spec.Image, spec.Networks)
		}
	}
	if _, ok := api.Template.Labels[compose.LabelNumber]; ok || api.Template.Name != "" {
		t.Error("Plan changed the service template")
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
