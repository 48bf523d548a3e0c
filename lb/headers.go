package lb

import (
	"net/http"
	"strings"
)

// hopByHop reports whether a header (canonical name) concerns one
// connection only, so that the proxy does not pass it on. Those the proxy
// must set itself (framing, upgrades) it writes on its own.
func hopByHop(key string) bool {
	switch key {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Content-Length":
		return true
	}
	return false
}

// connectionListed returns the header names listed in h's Connection
// header (canonical), which are hop-by-hop too; nil when there are none.
func connectionListed(h http.Header) []string {
	vs := h["Connection"]
	if len(vs) == 0 {
		return nil
	}
	var out []string
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, http.CanonicalHeaderKey(f))
			}
		}
	}
	return out
}

// skipHeader reports whether key is not passed on.
func skipHeader(key string, listed []string) bool {
	if hopByHop(key) {
		return true
	}
	for _, l := range listed {
		if l == key {
			return true
		}
	}
	return false
}

// hasToken reports whether the comma-separated values vs contain token,
// ignoring case.
func hasToken(vs []string, token string) bool {
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// validHost reports whether h is a valid Host header value (RFC 3986
// reg-name, IP literal or address, and port), as Go's HTTP server checks.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("-._~!$&'()*+,;=:[]%", c) >= 0: // sub-delims, port, IPv6, zones
		default:
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token (a header or cookie
// name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
