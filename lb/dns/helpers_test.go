package dns

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/cutover/cutover/lb/dns/bindtest"
)

const testZone = "example.test."

// startServer starts a built-in server for testZone on a free port of
// 127.0.0.1 and closes it when the test ends.
func startServer(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Zone == "" {
		cfg.Zone = testZone
	}
	cfg.Listen = "127.0.0.1:0"
	s, err := NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// seeded returns a deterministic Rand for ServerConfig, safe for
// concurrent use.
func seeded(seed uint64) func(int) int {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed))
	return func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		return r.IntN(n)
	}
}

// ask sends one query over network ("udp" or "tcp") and returns the
// answer.
func ask(t *testing.T, network, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	c := &mdns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s @%s: %v", network, name, mdns.TypeToString[qtype], addr, err)
	}
	return r
}

// addresses lists the A and AAAA addresses of an answer, sorted.
func addresses(r *mdns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *mdns.A:
			out = append(out, rr.A.String())
		case *mdns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	slices.Sort(out)
	return out
}

// needBinary returns the path of a binary from bind9 or bind9-dnsutils,
// failing the test (not skipping it) when it is missing.
func needBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin/", "/usr/bin/"} {
		if p, err := exec.LookPath(dir + name); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: %s", name, bindtest.DepsHint)
	return ""
}

// dig runs the real dig against addr ("127.0.0.1:PORT") and returns its
// output.
func dig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"@" + ap.Addr().String(), "-p", strconv.Itoa(int(ap.Port())), "+tries=1", "+time=2", "+norecurse"}, args...)
	out, err := exec.CommandContext(t.Context(), needBinary(t, "dig"), argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// digShort returns dig +short's lines, sorted.
func digShort(t *testing.T, addr string, args ...string) []string {
	t.Helper()
	lines := strings.Fields(dig(t, addr, append(args, "+short")...))
	slices.Sort(lines)
	return lines
}

// startNamed starts a private BIND for testZone, stopped when the test
// ends; its log is printed when the test fails.
func startNamed(t *testing.T, opts bindtest.Options) *bindtest.Named {
	t.Helper()
	needBinary(t, "named")
	if opts.Zone == "" {
		opts.Zone = testZone
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	n, err := bindtest.Start(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("named log:\n%s", n.Log())
		}
		if err := n.Stop(); err != nil {
			t.Error(err)
		}
	})
	return n
}

func mustAddrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}
