package bluegreen_test

import (
	"testing"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bluegreen"
)

// wantVolumeBeforeMounts checks that p creates volume name with compose's
// labels of stack (so `down --volumes` and docker compose find it) before
// any container is created, as the other strategies do.
func wantVolumeBeforeMounts(t *testing.T, p *strategies.Plan, stack, key string) {
	t.Helper()
	name := stack + "_" + key
	for _, s := range p.Steps {
		switch s.Action {
		case strategies.ActionCreate:
			t.Fatalf("%s is created before volume %s:\n%s", s.Spec.Name, name, p)
		case strategies.ActionEnsureVolume:
			if s.Volume.Name != name {
				continue
			}
			l := s.Volume.Labels
			if l[compose.LabelProject] != stack || l[compose.LabelVolume] != key || l[compose.LabelStack] != stack {
				t.Errorf("volume %s labels %v: want %s=%s, %s=%s, %s=%s", name, l,
					compose.LabelProject, stack, compose.LabelVolume, key, compose.LabelStack, stack)
			}
			return
		}
	}
	t.Fatalf("no ensure-volume %s in the plan:\n%s", name, p)
}

func TestPlan_CreatesNamedVolumesWithLabels(t *testing.T) {
	empty := strategies.Snapshot{Stack: "shop", Containers: map[string][]strategies.Observed{}, Networks: map[string]bool{}, Volumes: map[string]bool{}}
	p, err := bluegreen.BlueGreen{}.Plan(empty, want(t, "1", 1, strategies.ColorBlue))
	if err != nil {
		t.Fatal(err)
	}
	wantVolumeBeforeMounts(t, p, "shop", "data")

	// A release that keeps the serving color still makes sure of the
	// volume its shared services mount (one Docker created without labels
	// before cutover made it is not listed as the stack's).
	blue1 := want(t, "1", 1, strategies.ColorBlue)
	cur := running(blue1, 1, "running")
	delete(cur.Volumes, "shop_data")
	p, err = bluegreen.BlueGreen{}.Plan(cur, want(t, "1", 2, strategies.ColorGreen))
	if err != nil {
		t.Fatal(err)
	}
	wantVolumeBeforeMounts(t, p, "shop", "data")
}

func TestPlan_ChecksExternalVolumes(t *testing.T) {
	st := load(t, `
name: shop
services:
  web: {image: w:1, ports: ["8080:80"]}
  db: {image: db:1, volumes: [certs:/certs]}
volumes:
  certs: {external: true}
`)
	images := map[string]compose.ResolvedImage{}
	for _, name := range st.ServiceNames() {
		images[name] = compose.ResolvedImage{Ref: st.Project.Services[name].Image}
	}
	d, err := st.DesiredWith(1, images, compose.DesiredOptions{Router: compose.RouterProxy, Color: strategies.ColorBlue})
	if err != nil {
		t.Fatal(err)
	}
	p, err := bluegreen.BlueGreen{}.Plan(strategies.Snapshot{Stack: "shop"}, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Action == strategies.ActionEnsureVolume {
			t.Errorf("the plan creates external volume %s", s.Volume.Name)
		}
		if s.Action == strategies.ActionCheckVolume && s.Name == "certs" {
			return
		}
		if s.Action == strategies.ActionCreate {
			break
		}
	}
	t.Errorf("no check-volume certs before the first create:\n%s", p)
}
