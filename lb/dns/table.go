package dns

import (
	"fmt"

	"github.com/cutover/cutover/lb"
)

// table is what the built-in server answers from. It is never modified
// once published: every change builds a new one and stores it atomically,
// so a query reads one consistent table without a lock and sees a switch
// from the next query on.
type table struct {
	serial uint32
	routes map[string]*routeEntry // by route name
	hosts  map[string]*routeEntry // by canonical host name
	// names holds every name that exists in the zone: the apex, the
	// in-zone NS name, each route's host and the names between them and
	// the apex (empty non-terminals). A name outside it is NXDOMAIN; a name
	// in it without records of the asked type is NODATA.
	names map[string]bool
}

// newTable indexes routes for zone. fixed are names that exist whatever
// the routes (the apex, an in-zone NS name).
func newTable(zone string, serial uint32, routes map[string]*routeEntry, fixed []string) *table {
	t := &table{
		serial: serial,
		routes: routes,
		hosts:  make(map[string]*routeEntry, len(routes)),
		names:  map[string]bool{zone: true},
	}
	exist := func(name string) {
		t.names[name] = true
		for _, a := range ancestors(name, zone) {
			t.names[a] = true
		}
	}
	for _, name := range fixed {
		exist(name)
	}
	for _, e := range routes {
		t.hosts[e.route.Host] = e
		exist(e.route.Host)
	}
	return t
}

// with returns a copy of the routes map with e in place of the route of
// the same name, or an error when another route serves e's host.
func (t *table) with(e *routeEntry) (map[string]*routeEntry, error) {
	if other, ok := t.hosts[e.route.Host]; ok && other.route.Name != e.route.Name {
		return nil, fmt.Errorf("route %s: host %s: %w (route %s)", e.route.Name, e.route.Host, lb.ErrHostTaken, other.route.Name)
	}
	routes := make(map[string]*routeEntry, len(t.routes)+1)
	for name, r := range t.routes {
		routes[name] = r
	}
	routes[e.route.Name] = e
	return routes, nil
}

// without returns a copy of the routes map without the named route.
func (t *table) without(name string) map[string]*routeEntry {
	routes := make(map[string]*routeEntry, len(t.routes))
	for n, r := range t.routes {
		if n != name {
			routes[n] = r
		}
	}
	return routes
}
