// Package lb moves traffic to a stack's containers. The proxy router is a
// reverse proxy with one listener per address; each route on it has an
// active set of targets (container IP:port) that it swaps atomically, a
// candidate set it health-probes before a switch, and draining targets that
// finish their in-flight requests but get no new ones.
package lb

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Route is one entry point of a routed service.
type Route struct {
	// Name identifies the route: "<stack>/<service>".
	Name string `json:"name"`
	// Router is the kind of router that serves the route: "" (the
	// built-in proxy), "nginx" or "dns". The proxy ignores it; cutover's
	// router mux sends each route's calls to the router of its kind.
	Router string `json:"router,omitempty"`
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
	// Sticky, when set, keeps each client on one side of a canary split
	// (see SetSplit); nil splits every request by weight.
	Sticky *Sticky `json:"sticky,omitempty"`
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
	// Side is SideStable or SideCanary for an active target of a route
	// with a canary set; "" otherwise.
	Side string `json:"side,omitempty"`
	// Weight is the share (percent) of the route's new requests that the
	// target's side gets, when Side is set.
	Weight int `json:"weight,omitempty"`
}

// RouteStatus is a route and its targets.
type RouteStatus struct {
	Route   Route          `json:"route"`
	Targets []TargetStatus `json:"targets"`
	// Weight is the canary's share (percent) of new requests.
	Weight int `json:"weight,omitempty"`
}

// withDefaults returns r with every zero duration and threshold set to its
// default and Host in the form requests are matched against.
func (r Route) withDefaults() Route {
	if r.DrainTimeout <= 0 {
		r.DrainTimeout = DefaultDrainTimeout
	}
	h := &r.Health
	if h.Interval <= 0 {
		h.Interval = DefaultProbeInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultProbeTimeout
	}
	if h.HealthyThreshold <= 0 {
		h.HealthyThreshold = DefaultHealthyThreshold
	}
	if h.UnhealthyThreshold <= 0 {
		h.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		h.Path = "/" + h.Path
	}
	r.Host = normalHost(r.Host)
	if r.Sticky != nil {
		st := *r.Sticky // not shared with the caller
		if st.Header != "" {
			st.Header = http.CanonicalHeaderKey(st.Header)
		}
		r.Sticky = &st
	}
	return r
}

// validate reports what makes r unusable.
func (r Route) validate() error {
	if r.Name == "" {
		return fmt.Errorf("%w: route has no name", ErrInvalid)
	}
	if _, _, err := net.SplitHostPort(r.Listen); err != nil {
		return fmt.Errorf("%w: route %s: listen address %q: %v", ErrInvalid, r.Name, r.Listen, err)
	}
	if strings.ContainsAny(r.Host, "/ ") {
		return fmt.Errorf("%w: route %s: host %q is not a host name", ErrInvalid, r.Name, r.Host)
	}
	if r.Sticky != nil {
		if err := r.Sticky.validate(); err != nil {
			return fmt.Errorf("%w: route %s: %v", ErrInvalid, r.Name, err)
		}
	}
	return nil
}

// normalHost is host as routes match it: lower case, without a port, the
// brackets of an IPv6 literal or a trailing dot.
func normalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
