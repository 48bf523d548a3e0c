// Package lb moves traffic to a stack's containers. The proxy router is a
// reverse proxy with one listener per address; each route on it has an
// active set of targets (container IP:port) that it swaps atomically, a
// candidate set it health-probes before a switch, and draining targets that
// finish their in-flight requests but get no new ones.
package lb

import "time"

// Route is one entry point of a routed service.
type Route struct {
	// Name identifies the route: "<stack>/<service>".
	Name string `json:"name"`
	// Listen is the address the proxy listens on ("0.0.0.0:8080", "127.0.0.1:8080").
	Listen string `json:"listen"`
	// Host, when set, routes only requests for this Host header, so several
	// stacks can share one listener (e.g. :80). "" matches any host not
	// claimed by another route on the listener.
	Host   string `json:"host,omitempty"`
	Health Health `json:"health"`
	// DrainTimeout bounds how long a target leaving the active set may
	// finish its in-flight requests (default 30 s).
	DrainTimeout time.Duration `json:"drain_timeout,omitempty"`
}

// Health is how the proxy probes targets.
type Health struct {
	// Path is the HTTP path probed with GET; "" probes with a TCP connect.
	Path string `json:"path,omitempty"`
	// Interval between probes of one target (default 50 ms).
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout of one probe (default 1 s).
	Timeout time.Duration `json:"timeout,omitempty"`
	// HealthyThreshold is how many probes in a row must pass before a
	// target counts as healthy again (default 1).
	HealthyThreshold int `json:"healthy_threshold,omitempty"`
	// UnhealthyThreshold is how many probes in a row must fail before a
	// target is taken out of rotation (default 2).
	UnhealthyThreshold int `json:"unhealthy_threshold,omitempty"`
}

// Defaults for zero Route and Health fields.
const (
	DefaultDrainTimeout       = 30 * time.Second
	DefaultProbeInterval      = 50 * time.Millisecond
	DefaultProbeTimeout       = time.Second
	DefaultHealthyThreshold   = 1
	DefaultUnhealthyThreshold = 2
)

// TargetState is where a target stands on its route.
type TargetState string

// Target states.
const (
	TargetActive    TargetState = "active"    // receives requests while healthy
	TargetCandidate TargetState = "candidate" // probed, receives nothing yet
	TargetDraining  TargetState = "draining"  // finishes in-flight requests only
)

// TargetStatus is one target as the proxy sees it.
type TargetStatus struct {
	Addr      string      `json:"addr"`
	State     TargetState `json:"state"`
	Healthy   bool        `json:"healthy"`
	InFlight  int64       `json:"in_flight"`
	LastError string      `json:"last_error,omitempty"`
}

// RouteStatus is a route and its targets.
type RouteStatus struct {
	Route   Route          `json:"route"`
	Targets []TargetStatus `json:"targets"`
}
