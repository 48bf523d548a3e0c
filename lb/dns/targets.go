package dns

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/cutover/cutover/lb"
)

// addrSet is what one set of targets resolves to: its distinct IP
// addresses by family, in the order first given.
type addrSet struct {
	v4, v6 []netip.Addr
}

// all returns the IPv4 addresses, then the IPv6 ones.
func (s addrSet) all() []netip.Addr { return append(slices.Clone(s.v4), s.v6...) }

// String lists the addresses for messages: "127.0.0.12" or
// "127.0.0.12, ::1"; "nothing" when empty.
func (s addrSet) String() string {
	all := s.all()
	if len(all) == 0 {
		return "nothing"
	}
	parts := make([]string, len(all))
	for i, a := range all {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// equal reports whether s and o hold the same addresses, in any order.
func (s addrSet) equal(o addrSet) bool {
	return sameAddrs(s.v4, o.v4) && sameAddrs(s.v6, o.v6)
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}

// add puts a in the set unless it is there already.
func (s *addrSet) add(a netip.Addr) {
	a = a.Unmap()
	list := &s.v6
	if a.Is4() {
		list = &s.v4
	}
	if !slices.Contains(*list, a) {
		*list = append(*list, a)
	}
}

// parseTargets checks route's targets ("IP:port") and returns them
// without duplicates, with the addresses they resolve to. A target must
// name an IP address: a DNS answer carries no host name and no port.
func parseTargets(route string, targets []string) ([]string, addrSet, error) {
	var set addrSet
	out := make([]string, 0, len(targets))
	for _, t := range targets {
		host, port, err := net.SplitHostPort(t)
		if err != nil {
			return nil, addrSet{}, fmt.Errorf("%w: route %s: target %q: want IP:port: %v", lb.ErrInvalid, route, t, err)
		}
		if port == "" {
			return nil, addrSet{}, fmt.Errorf("%w: route %s: target %q: no port", lb.ErrInvalid, route, t)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return nil, addrSet{}, fmt.Errorf("%w: route %s: target %q: %q is not an IP address (a DNS answer can only carry addresses)", lb.ErrInvalid, route, t, host)
		}
		if ip.IsUnspecified() {
			return nil, addrSet{}, fmt.Errorf("%w: route %s: target %q: %s is not an address clients can reach", lb.ErrInvalid, route, t, ip)
		}
		if slices.Contains(out, t) {
			continue
		}
		out = append(out, t)
		set.add(ip)
	}
	return out, set, nil
}
