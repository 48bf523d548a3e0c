package strategies

import "github.com/cutover/cutover/lb"

// Route is a routed service's entry point: the router sends the traffic
// of Route.Listen to its containers' addresses on Network, port Port.
type Route struct {
	Service string
	// Port is the container port traffic goes to.
	Port int
	// Network is the engine network the router reaches containers on.
	Network string
	Route   lb.Route
}

// RouteOf returns the route of a service, if it has one.
func (d Desired) RouteOf(service string) (Route, bool) {
	for _, r := range d.Routes {
		if r.Service == service {
			return r, true
		}
	}
	return Route{}, false
}

// Colors are the two copies of a stack's colored services in blue-green.
const (
	ColorBlue  = "blue"
	ColorGreen = "green"
)

// OtherColor returns the color that is not c ("" gives blue).
func OtherColor(c string) string {
	if c == ColorBlue {
		return ColorGreen
	}
	return ColorBlue
}
