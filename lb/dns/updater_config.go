package dns

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Defaults for zero UpdaterConfig fields.
const (
	DefaultAlgorithm     = "hmac-sha256"
	DefaultUpdateTimeout = 5 * time.Second
	DefaultVerifyTimeout = 10 * time.Second
)

// UpdaterConfig configures RFC 2136 updates to an external authoritative
// server.
type UpdaterConfig struct {
	// Server is the primary server's address ("127.0.0.1:53"; port 53
	// when absent). Updates go over TCP, verification queries over UDP.
	Server string
	// Zone is the zone updated ("example.test."); route hosts must be
	// inside it.
	Zone string
	// KeyName is the TSIG key's name as the server knows it.
	KeyName string
	// Secret is the key's secret, base64 (as tsig-keygen writes it).
	Secret string
	// Algorithm is the key's HMAC: hmac-sha256 (default), hmac-sha224,
	// hmac-sha384, hmac-sha512 or hmac-sha1.
	Algorithm string
	// TTL of the records written (default 5 s; whole seconds).
	TTL time.Duration
	// Timeout bounds one exchange with the server (default 5 s).
	Timeout time.Duration
	// VerifyTimeout bounds how long SetTargets waits for the server to
	// answer with the new addresses after accepting an update (default
	// 10 s).
	VerifyTimeout time.Duration
}

// withDefaults checks c and fills in its defaults, names canonical.
func (c UpdaterConfig) withDefaults() (UpdaterConfig, error) {
	zone, err := canonicalZone(c.Zone)
	if err != nil {
		return c, err
	}
	c.Zone = zone
	if c.Server == "" {
		return c, fmt.Errorf("server: no address")
	}
	if c.Server, err = withDNSPort(c.Server); err != nil {
		return c, err
	}
	if c.KeyName == "" {
		return c, fmt.Errorf("key name: empty (updates must be signed with a TSIG key)")
	}
	if c.KeyName, err = canonicalName(c.KeyName); err != nil {
		return c, fmt.Errorf("key name: %w", err)
	}
	if c.Algorithm, err = tsigAlgorithm(c.Algorithm); err != nil {
		return c, err
	}
	if c.Secret == "" {
		return c, fmt.Errorf("key %s: empty secret", c.KeyName)
	}
	if _, err := base64.StdEncoding.DecodeString(c.Secret); err != nil {
		return c, fmt.Errorf("key %s: secret is not base64: %v", c.KeyName, err)
	}
	if c.TTL, err = ttlOrDefault(c.TTL); err != nil {
		return c, err
	}
	c.Timeout = durationOr(c.Timeout, DefaultUpdateTimeout)
	c.VerifyTimeout = durationOr(c.VerifyTimeout, DefaultVerifyTimeout)
	return c, nil
}

// tsigAlgorithm maps an algorithm name ("hmac-sha256", "HMAC-SHA256.")
// to miekg/dns's; "" is the default.
func tsigAlgorithm(name string) (string, error) {
	if name == "" {
		name = DefaultAlgorithm
	}
	switch a := mdns.Fqdn(strings.ToLower(name)); a {
	case mdns.HmacSHA1, mdns.HmacSHA224, mdns.HmacSHA256, mdns.HmacSHA384, mdns.HmacSHA512:
		return a, nil
	}
	return "", fmt.Errorf("key algorithm %q: want hmac-sha256, hmac-sha224, hmac-sha384, hmac-sha512 or hmac-sha1", name)
}

// algorithmName is the algorithm as people write it ("hmac-sha256").
func algorithmName(a string) string { return strings.TrimSuffix(a, ".") }

// withDNSPort returns server as host:port, adding port 53 to a bare host
// name or IP address ("192.0.2.53", "::1", "[::1]", "ns.example.test").
func withDNSPort(server string) (string, error) {
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server, nil
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
	if _, err := netip.ParseAddr(bare); err == nil || !strings.Contains(bare, ":") {
		return net.JoinHostPort(bare, "53"), nil
	}
	return "", fmt.Errorf("server address %q: want host:port", server)
}
