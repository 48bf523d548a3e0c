package canary_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/canary"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the plans the strategy makes now")

// shop has a routed web service and a shared database; canary steps 10 %
// for 1m, 50 % until promoted, then all.
const shop = `
name: shop
services:
  web:
    image: shop-web:%s
    ports: ["8080:80"]
    deploy: {replicas: 2}
    depends_on: [db]
    x-cutover:
      route: {health: /healthz}
  db:
    image: shop-db:1
    volumes: [data:/data]
volumes:
  data: {}
x-cutover:
  strategy: canary
  canary:
    steps:
      - {weight: 10, pause: 1m}
      - {weight: 50}
`

func desired(t *testing.T, version string, release int, color string) strategies.Desired {
	t.Helper()
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(shop, "%s", version)), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatalf("loading stack: %v", err)
	}
	images := map[string]compose.ResolvedImage{}
	for _, name := range st.ServiceNames() {
		ref := st.Project.Services[name].Image
		images[name] = compose.ResolvedImage{Ref: ref, ID: "sha256:" + strings.ReplaceAll(ref, ":", "-")}
	}
	d, err := st.DesiredWith(release, images, compose.DesiredOptions{Router: compose.RouterProxy, Color: color})
	if err != nil {
		t.Fatalf("desired: %v", err)
	}
	return d
}

// running is what release n of d runs.
func running(d strategies.Desired, release int) strategies.Snapshot {
	s := strategies.Snapshot{Stack: d.Stack, Containers: map[string][]strategies.Observed{}, Networks: map[string]bool{},
		Volumes: map[string]bool{}, Colors: map[string]map[string][]strategies.Observed{d.Color: {}}, ActiveColor: d.Color}
	for _, n := range d.Networks {
		s.Networks[n.Name] = true
	}
	for _, v := range d.Volumes {
		s.Volumes[v.Name] = true
	}
	for _, svc := range d.Services {
		for n := 1; n <= svc.Replicas; n++ {
			spec := svc.Container(n)
			o := strategies.Observed{Container: engine.Container{Name: spec.Name, Image: spec.Image, Labels: spec.Labels, State: "running"},
				Service: svc.Name, Number: n, Release: release, Hash: svc.Hash}
			o.Labels[compose.LabelRelease] = strconv.Itoa(release)
			if svc.Shared {
				s.Containers[svc.Name] = append(s.Containers[svc.Name], o)
			} else {
				s.Colors[d.Color][svc.Name] = append(s.Colors[d.Color][svc.Name], o)
			}
		}
	}
	return s
}

func TestPlan_Golden(t *testing.T) {
	blue1 := desired(t, "1", 1, strategies.ColorBlue)
	green2 := desired(t, "2", 2, strategies.ColorGreen)
	p, err := canary.Canary{}.Plan(running(blue1, 1), green2)
	if err != nil {
		t.Fatal(err)
	}
	got := p.String()
	path := filepath.Join("testdata", "steps_10_50.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./strategies/canary -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("plan differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestPlan_StepsInOrder checks what a user relies on, independently of
// the golden file: no split before the new color is ready, splits grow in
// the configured order, each followed by its pause, and the full switch
// only after the last pause; the old color is only removed on confirm.
func TestPlan_StepsInOrder(t *testing.T) {
	blue1 := desired(t, "1", 1, strategies.ColorBlue)
	p, err := canary.Canary{}.Plan(running(blue1, 1), desired(t, "2", 2, strategies.ColorGreen))
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	lastReady := -1
	for i, s := range p.Steps {
		switch s.Action {
		case strategies.ActionWaitReady, strategies.ActionCheckTargets, strategies.ActionVerify:
			lastReady = i
		case strategies.ActionSplit:
			if i < lastReady {
				t.Errorf("split at step %d before the new color was ready (step %d)", i+1, lastReady+1)
			}
			seq = append(seq, "split"+strconv.Itoa(s.Weight))
		case strategies.ActionPause:
			seq = append(seq, "pause"+s.Duration.String())
		case strategies.ActionSwitch:
			seq = append(seq, "switch")
		case strategies.ActionStop, strategies.ActionRemove:
			if strings.Contains(s.Container, "-blue-") {
				t.Errorf("step %d touches the old color before confirm: %s", i+1, s)
			}
		}
	}
	if got, want := strings.Join(seq, " "), "split10 pause1m0s split50 pause0s switch"; got != want {
		t.Errorf("canary sequence %q, want %q", got, want)
	}
	removesBlue := false
	for _, s := range p.Confirm {
		removesBlue = removesBlue || (s.Action == strategies.ActionRemove && strings.Contains(s.Container, "-blue-"))
	}
	if !removesBlue {
		t.Errorf("confirm does not remove the old color:\n%s", p)
	}
}

func TestPlan_FirstReleaseSkipsSteps(t *testing.T) {
	empty := strategies.Snapshot{Stack: "shop", Containers: map[string][]strategies.Observed{}, Networks: map[string]bool{}, Volumes: map[string]bool{}}
	p, err := canary.Canary{}.Plan(empty, desired(t, "1", 1, strategies.ColorBlue))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Action == strategies.ActionSplit || s.Action == strategies.ActionPause {
			t.Errorf("first release plans %s; with nothing serving there is nothing to split:\n%s", s, p)
		}
	}
	if len(p.Notes) == 0 || !strings.Contains(p.Notes[0], "canary steps are skipped") {
		t.Errorf("plan does not say the steps are skipped: %v", p.Notes)
	}
}

func TestPlan_Refuses(t *testing.T) {
	blue1 := desired(t, "1", 1, strategies.ColorBlue)
	green2 := desired(t, "2", 2, strategies.ColorGreen)
	for name, steps := range map[string][]strategies.CanaryStep{
		"no steps":       nil,
		"weight 0":       {{Weight: 0}},
		"weight 101":     {{Weight: 101}},
		"weights shrink": {{Weight: 50}, {Weight: 10}},
	} {
		d := green2
		d.Canary = steps
		if _, err := (canary.Canary{}).Plan(running(blue1, 1), d); err == nil {
			t.Errorf("%s: planned, want an error", name)
		}
	}
}
