package dns

import (
	"fmt"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/cutover/cutover/lb"
)

// canonicalName returns name as the router stores and matches it: lower
// case, fully qualified. It fails when name is not a domain name.
func canonicalName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("empty name")
	}
	if _, ok := mdns.IsDomainName(name); !ok || strings.ContainsAny(name, " /:@") {
		return "", fmt.Errorf("%q is not a domain name", name)
	}
	return mdns.CanonicalName(name), nil
}

// canonicalZone checks and normalizes a zone apex.
func canonicalZone(zone string) (string, error) {
	z, err := canonicalName(zone)
	if err != nil {
		return "", fmt.Errorf("zone: %w", err)
	}
	if z == "." {
		return "", fmt.Errorf("zone: the root zone cannot be served")
	}
	return z, nil
}

// routeHost checks that r names a host inside zone and returns r with its
// Host canonical. Listen means nothing to a dns route and is kept as is.
func routeHost(r lb.Route, zone string) (lb.Route, error) {
	if r.Name == "" {
		return r, fmt.Errorf("%w: route has no name", lb.ErrInvalid)
	}
	if r.Host == "" {
		return r, fmt.Errorf("%w: route %s has no host: the dns router answers for the route's host name", lb.ErrInvalid, r.Name)
	}
	host, err := canonicalName(r.Host)
	if err != nil {
		return r, fmt.Errorf("%w: route %s: host: %v", lb.ErrInvalid, r.Name, err)
	}
	if !mdns.IsSubDomain(zone, host) {
		return r, fmt.Errorf("%w: route %s: host %s is outside zone %s", lb.ErrInvalid, r.Name, host, zone)
	}
	r.Host = host
	return r, nil
}

// ancestors returns name's parents below and including zone, nearest
// first; name itself is not included.
func ancestors(name, zone string) []string {
	var out []string
	for name != zone {
		off, end := mdns.NextLabel(name, 0)
		if end {
			break
		}
		name = name[off:]
		if !mdns.IsSubDomain(zone, name) {
			break
		}
		out = append(out, name)
	}
	return out
}
