package nginx

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover/cutover/lb"
)

// File names in Config.Dir. Route files and the common file match the
// include glob (*.conf); the others start with a dot, which the glob skips.
const (
	filePrefix = "cutover-"
	commonFile = "cutover-00-common.conf"
	noticeFile = ".cutover-reloading"
	lockFile   = ".cutover.lock"
	tempGlob   = ".cutover-*.tmp"
)

// baseName is the route's file name without ".conf", also its upstream's
// name: "shop/web" → "cutover-shop-web". Characters other than letters,
// digits, '.', '_' and '-' become '-'.
func baseName(route string) string {
	var b strings.Builder
	b.WriteString(filePrefix)
	for _, c := range route {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// normalize checks r and returns it with defaults applied and Host in the
// form nginx's server_name matches. Every value that reaches the generated
// file is checked here, so none can add a directive.
func normalize(r lb.Route) (lb.Route, error) {
	if r.Name == "" {
		return r, fmt.Errorf("%w: route has no name", lb.ErrInvalid)
	}
	if baseName(r.Name)+".conf" == commonFile {
		return r, fmt.Errorf("%w: route name %q is reserved", lb.ErrInvalid, r.Name)
	}
	if _, _, err := splitListen(r.Listen); err != nil {
		return r, fmt.Errorf("%w: route %s: listen %q: %v", lb.ErrInvalid, r.Name, r.Listen, err)
	}
	host, err := normalHost(r.Host)
	if err != nil {
		return r, fmt.Errorf("%w: route %s: host %q: %v", lb.ErrInvalid, r.Name, r.Host, err)
	}
	r.Host = host
	if r.DrainTimeout <= 0 {
		r.DrainTimeout = lb.DefaultDrainTimeout
	}
	h := &r.Health
	if h.Interval <= 0 {
		h.Interval = lb.DefaultProbeInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = lb.DefaultProbeTimeout
	}
	if h.HealthyThreshold <= 0 {
		h.HealthyThreshold = lb.DefaultHealthyThreshold
	}
	if h.UnhealthyThreshold <= 0 {
		h.UnhealthyThreshold = lb.DefaultUnhealthyThreshold
	}
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		h.Path = "/" + h.Path
	}
	if strings.ContainsAny(h.Path, " \t\r\n") {
		return r, fmt.Errorf("%w: route %s: health path %q has white space", lb.ErrInvalid, r.Name, h.Path)
	}
	return r, nil
}

// splitListen splits a listen address into host ("" for every address)
// and port, refusing anything nginx's listen directive would read
// differently.
func splitListen(listen string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(listen)
	if err != nil {
		return "", "", err
	}
	if err := checkPort(port); err != nil {
		return "", "", err
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		return "", "", fmt.Errorf("%q is neither an IP address nor a host name", host)
	}
	return host, port, nil
}

// checkTarget checks a target address ("ip:port" or "host:port").
func checkTarget(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("no host")
	}
	if net.ParseIP(host) == nil && !isHostname(host) {
		return fmt.Errorf("%q is neither an IP address nor a host name", host)
	}
	return checkPort(port)
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want 1-65535", port)
	}
	return nil
}

// isHostname reports whether s has only the characters of a DNS name.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// normalHost is host as server_name matches it: lower case, without a
// port or a trailing dot. A leading "*." wildcard is allowed.
func normalHost(host string) (string, error) {
	if host == "" {
		return "", nil
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	name := strings.TrimPrefix(host, "*.")
	if !isHostname(name) {
		return "", fmt.Errorf("not a host name")
	}
	return host, nil
}

// uniqueTargets checks addrs and drops repeats, keeping the first.
func uniqueTargets(route string, addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if err := checkTarget(a); err != nil {
			return nil, fmt.Errorf("%w: route %s: target %q: %v", lb.ErrInvalid, route, a, err)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
