package canary_test

import (
	"testing"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/canary"
)

// The first canary release creates the shared database's named volume
// with compose's labels before the database mounts it, so `cutover down
// --volumes` finds and removes it.
func TestPlan_CreatesNamedVolumesWithLabels(t *testing.T) {
	empty := strategies.Snapshot{Stack: "shop", Containers: map[string][]strategies.Observed{}, Networks: map[string]bool{}, Volumes: map[string]bool{}}
	p, err := canary.Canary{}.Plan(empty, desired(t, "1", 1, strategies.ColorBlue))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		switch s.Action {
		case strategies.ActionCreate:
			t.Fatalf("%s is created before volume shop_data:\n%s", s.Spec.Name, p)
		case strategies.ActionEnsureVolume:
			l := s.Volume.Labels
			if s.Volume.Name != "shop_data" || l[compose.LabelProject] != "shop" || l[compose.LabelVolume] != "data" {
				t.Errorf("ensure-volume %s with labels %v, want shop_data of project shop, volume data", s.Volume.Name, l)
			}
			return
		}
	}
	t.Fatalf("no ensure-volume in the plan:\n%s", p)
}
