package lb

import (
	"errors"
	"slices"
	"testing"
)

// Split reads back what SetSplit and SetTargets applied, so that a split
// saved from it and applied again routes the same way.
func TestProxy_SplitReadsTheCurrentSplit(t *testing.T) {
	s1, s2, c1 := newBackend(t, "s1"), newBackend(t, "s2"), newBackend(t, "c1")
	p, url := newTestProxy(t, Route{})

	setTargets(t, p, "stack/web", s1.addr(), s2.addr())
	got, split, err := p.Split("stack/web")
	if err != nil || split || !slices.Equal(got.Stable, addrsOf(s1, s2)) || len(got.Canary) != 0 || got.Weight != 0 {
		t.Fatalf("after SetTargets: Split = %+v, %v, %v; want stable %v, no split", got, split, err, addrsOf(s1, s2))
	}

	want := Split{Stable: addrsOf(s1, s2), Canary: addrsOf(c1), Weight: 30}
	setSplit(t, p, "stack/web", want)
	got, split, err = p.Split("stack/web")
	if err != nil || !split || !slices.Equal(got.Stable, want.Stable) || !slices.Equal(got.Canary, want.Canary) || got.Weight != 30 {
		t.Fatalf("after SetSplit: Split = %+v, %v, %v; want %+v", got, split, err, want)
	}

	// Applied to a fresh proxy, the read split gives the same shares.
	q, qurl := newTestProxy(t, Route{})
	setSplit(t, q, "stack/web", got)
	c := newClient(t, true)
	const n = 1000
	before, after := getN(t, c, url, n, nil), getN(t, c, qurl, n, nil)
	for _, m := range []map[string]int{before, after} {
		if share := 100 * m["c1"] / n; share < 27 || share > 33 {
			t.Errorf("canary got %d %% of %d requests (%v), want 30 ± 3", share, n, m)
		}
	}

	// A canary at weight 0 is still a split (status shows its sides).
	setSplit(t, p, "stack/web", Split{Stable: addrsOf(s1), Canary: addrsOf(c1)})
	if got, split, _ := p.Split("stack/web"); !split || got.Weight != 0 || !slices.Equal(got.Canary, addrsOf(c1)) {
		t.Errorf("at weight 0: Split = %+v, %v; want the canary kept", got, split)
	}

	// SetTargets ends the split.
	setTargets(t, p, "stack/web", c1.addr())
	if got, split, _ := p.Split("stack/web"); split || !slices.Equal(got.Stable, addrsOf(c1)) || got.Canary != nil {
		t.Errorf("after SetTargets(c1): Split = %+v, %v; want stable [c1], no split", got, split)
	}

	if _, _, err := p.Split("stack/api"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("Split of an unknown route: %v, want ErrNoRoute", err)
	}
}
