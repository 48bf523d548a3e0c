package strategies

import (
	"sort"

	"github.com/cutover/cutover/internal/engine"
)

// Snapshot is what runs now for one stack: one observation taken before
// planning, so a plan never depends on engine calls made while planning.
type Snapshot struct {
	Stack string
	// Containers of the stack keyed by service name, sorted by number.
	Containers map[string][]Observed
	// Networks and Volumes that exist, by engine name (the stack's and its
	// colors').
	Networks map[string]bool
	Volumes  map[string]bool
	// Colors holds the containers of the stack's blue-green copies:
	// color → service → containers (projects <stack>-blue, <stack>-green).
	Colors map[string]map[string][]Observed
	// ActiveColor is the color whose release serves, "" when none does.
	ActiveColor string
}

// Observed is a running or stopped container with the labels cutover reads.
type Observed struct {
	engine.Container
	Service string
	Number  int
	Release int
	Hash    string
}

// Services returns the observed service names, sorted.
func (s Snapshot) Services() []string {
	names := make([]string, 0, len(s.Containers))
	for name := range s.Containers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// SortObserved orders containers by number, then name.
func SortObserved(cs []Observed) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Number != cs[j].Number {
			return cs[i].Number < cs[j].Number
		}
		return cs[i].Name < cs[j].Name
	})
}
