package bluegreen_test

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
	"github.com/cutover/cutover/strategies/bluegreen"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the plans the strategy makes now")

// shop is a stack with a routed web service, a colored worker and a
// database that is shared because it mounts a named volume.
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
  worker:
    image: shop-web:%s
    depends_on: [db]
  db:
    image: shop-db:1
    volumes: [data:/data]
volumes:
  data: {}
x-cutover:
  strategy: bluegreen
`

func load(t *testing.T, yaml string) *compose.Stack {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatalf("loading stack: %v", err)
	}
	return st
}

// want is release n of shop at version in color.
func want(t *testing.T, version string, release int, color string) strategies.Desired {
	t.Helper()
	st := load(t, strings.ReplaceAll(shop, "%s", version))
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

// running is what release n of d runs: every service's replicas.
func running(d strategies.Desired, release int, state string) strategies.Snapshot {
	s := strategies.Snapshot{Stack: d.Stack, Containers: map[string][]strategies.Observed{},
		Networks: map[string]bool{}, Volumes: map[string]bool{}, Colors: map[string]map[string][]strategies.Observed{}}
	for _, n := range d.Networks {
		s.Networks[n.Name] = true
	}
	for _, v := range d.Volumes {
		s.Volumes[v.Name] = true
	}
	for _, svc := range d.Services {
		for n := 1; n <= svc.Replicas; n++ {
			spec := svc.Container(n)
			o := strategies.Observed{Container: engine.Container{Name: spec.Name, Image: spec.Image, Labels: spec.Labels, State: state},
				Service: svc.Name, Number: n, Release: release, Hash: svc.Hash}
			o.Labels[compose.LabelRelease] = strconv.Itoa(release)
			if svc.Shared {
				s.Containers[svc.Name] = append(s.Containers[svc.Name], o)
				continue
			}
			if s.Colors[d.Color] == nil {
				s.Colors[d.Color] = map[string][]strategies.Observed{}
			}
			s.Colors[d.Color][svc.Name] = append(s.Colors[d.Color][svc.Name], o)
		}
	}
	s.ActiveColor = d.Color
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantText, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./strategies/bluegreen -update to create it)", err)
	}
	if got != string(wantText) {
		t.Errorf("plan differs from %s:\n--- got\n%s--- want\n%s", path, got, wantText)
	}
}

func TestPlan_Golden(t *testing.T) {
	empty := strategies.Snapshot{Stack: "shop", Containers: map[string][]strategies.Observed{}, Networks: map[string]bool{}, Volumes: map[string]bool{}}
	blue1 := want(t, "1", 1, strategies.ColorBlue)
	green2 := want(t, "2", 2, strategies.ColorGreen)
	tests := []struct {
		name    string
		current strategies.Snapshot
		want    strategies.Desired
	}{
		{"first_deploy", empty, blue1},
		{"switch_to_green", running(blue1, 1, "running"), green2},
		{"unchanged_keeps_blue", running(blue1, 1, "running"), want(t, "1", 2, strategies.ColorGreen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := bluegreen.BlueGreen{}.Plan(tt.current, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, p.String())
		})
	}
}

// TestPlan_NewColorNeverServesBeforeReady: every switch comes after the
// wait-ready and check-targets steps of all the containers it routes to,
// and the old color is only touched on confirm.
func TestPlan_NewColorNeverServesBeforeReady(t *testing.T) {
	blue1 := want(t, "1", 1, strategies.ColorBlue)
	p, err := bluegreen.BlueGreen{}.Plan(running(blue1, 1, "running"), want(t, "2", 2, strategies.ColorGreen))
	if err != nil {
		t.Fatal(err)
	}
	ready, checked := map[string]bool{}, map[string]bool{}
	for _, s := range p.Steps {
		switch s.Action {
		case strategies.ActionWaitReady:
			ready[s.Container] = true
		case strategies.ActionCheckTargets:
			for _, c := range s.Containers {
				if !ready[c] {
					t.Errorf("check-targets of %s before it is ready", c)
				}
				checked[c] = true
			}
		case strategies.ActionSwitch:
			for _, c := range s.Containers {
				if !checked[c] || !strings.HasPrefix(c, "shop-green-") {
					t.Errorf("switch to %s: not checked first, or not the new color", c)
				}
			}
		case strategies.ActionStop, strategies.ActionRemove:
			if strings.HasPrefix(s.Container, "shop-blue-") {
				t.Errorf("step %s touches the serving color before confirm", s)
			}
		}
	}
	var stopsBlue int
	for _, s := range p.Confirm {
		if s.Action == strategies.ActionStop && strings.HasPrefix(s.Container, "shop-blue-") {
			stopsBlue++
		}
	}
	if stopsBlue != 3 {
		t.Errorf("confirm stops %d blue containers, want 3 (web ×2, worker)", stopsBlue)
	}
}

func TestRollbackPlan_Golden(t *testing.T) {
	blue1 := want(t, "1", 1, strategies.ColorBlue)
	green2 := want(t, "2", 2, strategies.ColorGreen)
	cur := running(blue1, 1, "running")
	both := running(green2, 2, "running")
	cur.Colors[strategies.ColorGreen] = both.Colors[strategies.ColorGreen]
	for n := range both.Networks {
		cur.Networks[n] = true
	}
	p, err := bluegreen.RollbackPlan(cur, blue1, 2, strategies.ColorGreen)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rollback", p.String())
}

// A release that replaced an uncolored one (rolling → blue-green) has no
// standby: the refusal names the command that goes back, release number
// included.
func TestRollbackPlan_NoStandbySaysHowToGoBack(t *testing.T) {
	rolled1 := want(t, "1", 1, "")
	green2 := want(t, "2", 2, strategies.ColorGreen)
	_, err := bluegreen.RollbackPlan(running(green2, 2, "running"), rolled1, 2, strategies.ColorGreen)
	if err == nil || !strings.Contains(err.Error(), "cutover rollback "+rolled1.Stack+" --to 1") {
		t.Fatalf("RollbackPlan = %v, want a refusal naming cutover rollback %s --to 1", err, rolled1.Stack)
	}
}

func TestPlan_Refuses(t *testing.T) {
	tests := []struct {
		desc, yaml, says string
	}{
		{"nothing routed", "name: shop\nservices:\n  worker: {image: w:1}\n", "no service of shop is routed"},
		{"container_name", "name: shop\nservices:\n  web: {image: w:1, ports: [\"8080:80\"], container_name: fixed}\n", `container_name: "fixed" cannot run in two colors`},
		{"fixed port on an unrouted colored service", "name: shop\nservices:\n  web: {image: w:1, ports: [\"8080:80\"]}\n  admin: {image: w:1, ports: [\"9090:90\", \"9091:91\"]}\n", "publishes several ports"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st := load(t, tt.yaml)
			images := map[string]compose.ResolvedImage{}
			for _, name := range st.ServiceNames() {
				images[name] = compose.ResolvedImage{Ref: st.Project.Services[name].Image}
			}
			d, err := st.DesiredWith(1, images, compose.DesiredOptions{Router: compose.RouterProxy, Color: strategies.ColorBlue})
			if err == nil {
				_, err = bluegreen.BlueGreen{}.Plan(strategies.Snapshot{Stack: "shop"}, d)
			}
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v, want one saying %q", err, tt.says)
			}
		})
	}
}

// TestDesired_Colored: a colored service runs in its color's project and
// networks, reaches shared services on the stack network, and publishes
// nothing for its route (the proxy owns the port).
func TestDesired_Colored(t *testing.T) {
	d := want(t, "2", 2, strategies.ColorGreen)
	var web, db strategies.Service
	for _, svc := range d.Services {
		switch svc.Name {
		case "web":
			web = svc
		case "db":
			db = svc
		}
	}
	if !db.Shared || db.Project != "shop" || web.Shared || web.Project != "shop-green" {
		t.Fatalf("db shared=%v project=%s, web shared=%v project=%s", db.Shared, db.Project, web.Shared, web.Project)
	}
	spec := web.Container(1)
	if spec.Name != "shop-green-web-1" || spec.Labels[compose.LabelProject] != "shop-green" ||
		spec.Labels[compose.LabelColor] != "green" || spec.Labels[compose.LabelStack] != "shop" {
		t.Errorf("web replica 1: name %s, labels %v", spec.Name, spec.Labels)
	}
	if len(spec.Ports) != 0 {
		t.Errorf("web publishes %v; the proxy owns its port", spec.Ports)
	}
	if len(spec.Networks) != 2 || spec.Networks[0].Network != "shop-green_default" || spec.Networks[1].Network != "shop_default" ||
		len(spec.Networks[1].Aliases) != 0 {
		t.Errorf("web networks %+v: want shop-green_default (aliases) then shop_default (none)", spec.Networks)
	}
	r, ok := d.RouteOf("web")
	if !ok || r.Route.Listen != ":8080" || r.Port != 80 || r.Network != "shop-green_default" || r.Route.Name != "shop/web" {
		t.Errorf("route of web %+v", r)
	}
	if p := web.Ready.Probe; p == nil || p.Port != 80 || p.Path != "/healthz" {
		t.Errorf("web readiness probe %+v, want :80/healthz", p)
	}
}
