package dns

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	mdns "github.com/miekg/dns"
)

// Defaults for zero ServerConfig and UpdaterConfig fields.
const (
	// DefaultTTL is the TTL of answers: short, so that a switch reaches
	// clients that honour it within seconds.
	DefaultTTL = 5 * time.Second
	// MinDrainDelay is the shortest time the targets that left a DNS
	// route must keep serving: browsers keep answers about a minute
	// whatever their TTL, the JVM 30 s.
	MinDrainDelay = 60 * time.Second

	defaultSOARefresh = time.Hour
	defaultSOARetry   = 10 * time.Minute
	defaultSOAExpire  = 7 * 24 * time.Hour
)

// ServerConfig configures the built-in authoritative server.
type ServerConfig struct {
	// Zone is the zone the server is authoritative for ("example.test.").
	// Every route's host must be inside it.
	Zone string
	// Listen is the address served on UDP and TCP both ("127.0.0.1:5353";
	// port 0 picks a free port, see Addr).
	Listen string
	// TTL of every answer, negative ones included (default 5 s; whole
	// seconds, at least 1 s).
	TTL time.Duration
	// NS is the zone's name server, in the NS and SOA records (default
	// "ns.<zone>").
	NS string
	// NSAddrs are answered for NS when it is inside the zone (glue);
	// without them the name exists but has no address.
	NSAddrs []netip.Addr
	// Mbox is the SOA's responsible mailbox (default "hostmaster.<zone>").
	Mbox string
	// Refresh, Retry and Expire are the SOA's timers (defaults 1 h, 10 min,
	// 1 week); its minimum (negative caching TTL) is TTL.
	Refresh, Retry, Expire time.Duration
	// Rand returns a random int in [0, n) for weighted answers; it must be
	// safe for concurrent use. Default: math/rand/v2's IntN.
	Rand func(n int) int
}

// withDefaults checks c and fills in its defaults, names canonical.
func (c ServerConfig) withDefaults() (ServerConfig, error) {
	zone, err := canonicalZone(c.Zone)
	if err != nil {
		return c, err
	}
	c.Zone = zone
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c, fmt.Errorf("listen address %q: %v", c.Listen, err)
	}
	if c.TTL, err = ttlOrDefault(c.TTL); err != nil {
		return c, err
	}
	if c.NS == "" {
		c.NS = "ns." + zone
	}
	if c.NS, err = canonicalName(c.NS); err != nil {
		return c, fmt.Errorf("name server: %w", err)
	}
	if c.Mbox == "" {
		c.Mbox = "hostmaster." + zone
	}
	if c.Mbox, err = canonicalName(c.Mbox); err != nil {
		return c, fmt.Errorf("SOA mailbox: %w", err)
	}
	for _, a := range c.NSAddrs {
		if !a.IsValid() {
			return c, fmt.Errorf("name server %s: invalid address", c.NS)
		}
	}
	c.Refresh = durationOr(c.Refresh, defaultSOARefresh)
	c.Retry = durationOr(c.Retry, defaultSOARetry)
	c.Expire = durationOr(c.Expire, defaultSOAExpire)
	if c.Rand == nil {
		c.Rand = rand.IntN
	}
	return c, nil
}

// fixedNames are the names that exist in the zone whatever the routes.
func (c ServerConfig) fixedNames() []string {
	names := []string{c.Zone}
	if mdns.IsSubDomain(c.Zone, c.NS) {
		names = append(names, c.NS)
	}
	return names
}

// ttlOrDefault checks a TTL: whole seconds, at least one.
func ttlOrDefault(ttl time.Duration) (time.Duration, error) {
	if ttl == 0 {
		return DefaultTTL, nil
	}
	if ttl < time.Second || ttl%time.Second != 0 || ttl > 24*time.Hour {
		return 0, fmt.Errorf("ttl %s: want whole seconds between 1s and 24h", ttl)
	}
	return ttl, nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// drainDelay is how long targets that left a route keep serving after a
// DNS switch: max(60 s, 3 × TTL).
func drainDelay(ttl time.Duration) time.Duration {
	return max(MinDrainDelay, 3*ttl)
}

// seconds is d in whole seconds, as TTLs and SOA timers are written.
func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }
