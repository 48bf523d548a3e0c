package dns

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/lb"
)

// RouteState is one route of a router's table as Snapshot exports it and
// Restore takes it back; it encodes to JSON for the daemon to persist.
type RouteState struct {
	Route lb.Route `json:"route"`
	// Targets are the targets that get answers (Targets() of the route):
	// with a split, the stable ones, then the canary ones.
	Targets []string `json:"targets"`
	// Split, when set, is the weighted canary split in force; Restore
	// applies it instead of Targets.
	Split *lb.Split `json:"split,omitempty"`
}

// entry checks s and makes the route entry it describes, with the host
// inside zone.
func (s RouteState) entry(zone string) (*routeEntry, error) {
	r, err := routeHost(s.Route, zone)
	if err != nil {
		return nil, err
	}
	split := lb.Split{Stable: s.Targets}
	if s.Split != nil {
		if err := checkSplit(r.Name, *s.Split); err != nil {
			return nil, err
		}
		split = *s.Split
	}
	return newEntry(r, split)
}

// entries checks a whole snapshot: every route valid, names and hosts
// unique.
func entries(states []RouteState, zone string) (map[string]*routeEntry, error) {
	routes := make(map[string]*routeEntry, len(states))
	hosts := make(map[string]string, len(states))
	for i, s := range states {
		e, err := s.entry(zone)
		if err != nil {
			return nil, fmt.Errorf("route %d of the snapshot: %w", i+1, err)
		}
		name := e.route.Name
		if _, dup := routes[name]; dup {
			return nil, fmt.Errorf("%w: route %s appears twice in the snapshot", lb.ErrInvalid, name)
		}
		if other, taken := hosts[e.route.Host]; taken {
			return nil, fmt.Errorf("route %s: host %s: %w (route %s)", name, e.route.Host, lb.ErrHostTaken, other)
		}
		routes[name] = e
		hosts[e.route.Host] = name
	}
	return routes, nil
}

// snapshot returns the states of routes, sorted by route name.
func snapshot(routes map[string]*routeEntry) []RouteState {
	out := make([]RouteState, 0, len(routes))
	for _, e := range routes {
		out = append(out, e.state())
	}
	slices.SortFunc(out, func(a, b RouteState) int { return strings.Compare(a.Route.Name, b.Route.Name) })
	return out
}
