package strategies

import (
	"strings"
	"time"

	"github.com/cutover/cutover/lb"
)

// Route is a routed service's entry point: the router sends the traffic
// of Route.Listen to its containers' addresses on Network, port Port.
type Route struct {
	Service string
	// Port is the container port traffic goes to.
	Port int
	// Network is the engine network the router reaches containers on.
	Network string
	Route   lb.Route
	// Addresses, under router dns, are the host address each color
	// publishes the service's ports on (color → IP): a container's target
	// is then Addresses[its color]:PublishedPort, not its address on
	// Network.
	Addresses map[string]string `json:",omitempty"`
	// PublishedPort is the host port clients reach (router dns).
	PublishedPort int `json:",omitempty"`
	// KeepOld, under router dns, replaces the 60 s floor of the keep-old
	// window (x-cutover.dns.keep_old); 0 keeps the router's default.
	KeepOld time.Duration `json:",omitempty"`
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

// ColorNetwork names the copy of a stack network that a color's project
// uses: <stack>_<key> becomes <stack>-<color>_<key>; a network with a name
// of its own gets the color as suffix.
func ColorNetwork(stack, color, network string) string {
	if key, ok := strings.CutPrefix(network, stack+"_"); ok {
		return stack + "-" + color + "_" + key
	}
	return network + "_" + color
}
