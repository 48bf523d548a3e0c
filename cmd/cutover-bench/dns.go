package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/dns"
	"github.com/cutover/cutover/lb/dns/bindtest"
)

// Target the dns benchmark prints next to its figures: from a switch to
// the first answer with the new address.
const dnsTargetDelay = 10 * time.Millisecond

const (
	dnsBenchZone  = "bench.test."
	dnsBenchHost  = "app.bench.test."
	dnsBenchRoute = "bench/web"
)

// dnsColors are the two colors' targets and the address each answers.
var dnsColors = [2]struct{ target, ip string }{
	{"127.0.0.11:8080", "127.0.0.11"},
	{"127.0.0.12:8080", "127.0.0.12"},
}

// runDNS measures the dns router: how soon after a switch a fresh query
// answers the new color, for the built-in server and for RFC 2136 updates
// to a private BIND, and how well weighted answers follow canary weights.
func runDNS(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("dns", flag.ContinueOnError)
	switches := fs.Int("switches", 200, "switches to time, per backend")
	queries := fs.Int("queries", 1000, "queries per canary weight")
	rfc2136 := fs.Bool("rfc2136", true, "also time RFC 2136 updates to a private BIND (needs named: scripts/deps.sh)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *switches < 1 || *queries < 1 || fs.NArg() > 0 {
		return errors.New("-switches and -queries must be at least 1, and no arguments follow the flags")
	}
	fmt.Fprintf(out, "dns router: %d switches per backend between %s and %s, %d queries per canary weight\n",
		*switches, dnsColors[0].ip, dnsColors[1].ip, *queries)
	fmt.Fprintf(out, "%d CPUs, load average %s; every query is a fresh UDP socket (no client cache)\n\n", runtime.NumCPU(), loadAverage())

	if err := benchServer(ctx, out, *switches, *queries); err != nil {
		return err
	}
	if !*rfc2136 {
		return nil
	}
	named, err := bindtest.FindNamed()
	if err != nil {
		fmt.Fprintf(out, "\nRFC 2136: skipped, %v\n", err)
		return nil
	}
	return benchUpdater(ctx, out, named, *switches)
}

// benchServer times switches and weighted answers of the built-in server.
func benchServer(ctx context.Context, out io.Writer, switches, queries int) (err error) {
	s, err := dns.NewServer(dns.ServerConfig{Zone: dnsBenchZone, Listen: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, s.Close(cctx))
	}()
	if err := s.EnsureRoute(ctx, lb.Route{Name: dnsBenchRoute, Host: dnsBenchHost}); err != nil {
		return err
	}
	if err := s.SetTargets(ctx, dnsBenchRoute, []string{dnsColors[0].target}); err != nil {
		return err
	}
	r, err := timeSwitches(ctx, s.Addr(), switches, func(target string) error {
		return s.SetTargets(ctx, dnsBenchRoute, []string{target})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "built-in server on %s (UDP and TCP), TTL %s:\n", s.Addr(), s.TTL())
	r.print(out, "SetTargets call")
	if err := digAfterSwitches(ctx, out, s, 10); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nweighted answers, %d queries per weight (stable %s, canary %s):\n", queries, dnsColors[0].ip, dnsColors[1].ip)
	for _, w := range []int{10, 50, 90} {
		split := lb.Split{Stable: []string{dnsColors[0].target}, Canary: []string{dnsColors[1].target}, Weight: w}
		if err := s.SetSplit(ctx, dnsBenchRoute, split); err != nil {
			return err
		}
		canary := 0
		for range queries {
			ips, err := dnsQuery(ctx, s.Addr())
			if err != nil {
				return err
			}
			switch {
			case slices.Equal(ips, []string{dnsColors[1].ip}):
				canary++
			case slices.Equal(ips, []string{dnsColors[0].ip}):
			default:
				return fmt.Errorf("weight %d: an answer is not one whole color: %v", w, ips)
			}
		}
		want := float64(queries) * float64(w) / 100
		band := 3 * math.Sqrt(want*(1-float64(w)/100))
		ok := math.Abs(float64(canary)-want) <= band
		fmt.Fprintf(out, "  weight %2d %%: %4d of %d answers canary (%4.1f %%), expected %.0f ± %.0f (3σ): %s\n",
			w, canary, queries, 100*float64(canary)/float64(queries), want, band, dnsMatch(ok))
	}
	return nil
}

// benchUpdater times RFC 2136 switches against a private named.
func benchUpdater(ctx context.Context, out io.Writer, named string, switches int) (err error) {
	dir, err := os.MkdirTemp("", "cutover-bench-dns-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	n, err := bindtest.Start(ctx, dir, bindtest.Options{
		Zone: dnsBenchZone, Named: named,
		Records: []string{"app 5 IN A " + dnsColors[0].ip},
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, n.Stop()) }()
	u, err := dns.NewUpdater(dns.UpdaterConfig{
		Server: n.Addr, Zone: n.Zone, KeyName: n.KeyName, Secret: n.Secret, Algorithm: n.Algorithm,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := u.EnsureRoute(ctx, lb.Route{Name: dnsBenchRoute, Host: dnsBenchHost}); err != nil {
		return err
	}
	if err := u.SetTargets(ctx, dnsBenchRoute, []string{dnsColors[0].target}); err != nil {
		return err
	}
	r, err := timeSwitches(ctx, n.Addr, switches, func(target string) error {
		return u.SetTargets(ctx, dnsBenchRoute, []string{target})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nRFC 2136 to a private BIND (%s) on %s, TSIG %s, TTL %s:\n", namedVersion(ctx, named), n.Addr, n.Algorithm, u.TTL())
	r.print(out, "SetTargets (signed update over TCP + verification queries)")
	return nil
}

// switchTimes are the figures of one backend's switches.
type switchTimes struct {
	call    []time.Duration // SetTargets alone
	visible []time.Duration // from the switch to the first answer with the new address
	stale   int             // queries after SetTargets returned that still answered the old address
}

// timeSwitches switches between the two colors n times with set and, after
// each, queries addr over a fresh UDP socket until it answers the new
// address.
func timeSwitches(ctx context.Context, addr string, n int, set func(target string) error) (switchTimes, error) {
	var r switchTimes
	for i := range n {
		color := dnsColors[(i+1)%2]
		start := time.Now()
		if err := set(color.target); err != nil {
			return r, fmt.Errorf("switch %d: %w", i+1, err)
		}
		r.call = append(r.call, time.Since(start))
		for {
			ips, err := dnsQuery(ctx, addr)
			if err != nil {
				return r, fmt.Errorf("switch %d: %w", i+1, err)
			}
			if slices.Equal(ips, []string{color.ip}) {
				r.visible = append(r.visible, time.Since(start))
				break
			}
			r.stale++
			if time.Since(start) > 10*time.Second {
				return r, fmt.Errorf("switch %d: %s still answers %v after 10s", i+1, addr, ips)
			}
		}
	}
	return r, nil
}

func (r switchTimes) print(out io.Writer, callName string) {
	call, vis := dnsStats(r.call), dnsStats(r.visible)
	fmt.Fprintf(out, "  %-60s %s\n", callName+":", call)
	fmt.Fprintf(out, "  %-60s %s\n", "switch → first fresh UDP answer with the new address:", vis)
	fmt.Fprintf(out, "  answers with the old address after SetTargets returned: %d\n", r.stale)
	fmt.Fprintf(out, "  p99 switch → answer %s (target ≤ %s): %s\n", dnsMs(vis.p99), dnsMs(dnsTargetDelay), dnsVerdict(vis.p99 <= dnsTargetDelay))
}

// dnsQuery asks addr for the bench host's A records over a new UDP socket
// and returns the addresses, sorted.
func dnsQuery(ctx context.Context, addr string) ([]string, error) {
	m := new(mdns.Msg)
	m.SetQuestion(dnsBenchHost, mdns.TypeA)
	m.RecursionDesired = false
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.ExchangeContext(ctx, m, addr)
	if err != nil {
		return nil, fmt.Errorf("query %s A @%s: %w", dnsBenchHost, addr, err)
	}
	var ips []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*mdns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	slices.Sort(ips)
	return ips, nil
}

// namedVersion is named's version line ("BIND 9.18.49"), or "named".
func namedVersion(ctx context.Context, named string) string {
	v, err := bindtestVersion(ctx, named)
	if err != nil {
		return "named"
	}
	return v
}

// digAfterSwitches switches n times and runs the real dig right after
// each switch: the first dig must answer the new address. dig's own start
// takes milliseconds, so this checks what a user sees, not the delay.
func digAfterSwitches(ctx context.Context, out io.Writer, s *dns.Server, n int) error {
	digBin, err := exec.LookPath("dig")
	if err != nil {
		fmt.Fprintf(out, "  dig: skipped, not found (%s)\n", bindtest.DepsHint)
		return nil
	}
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return err
	}
	right := 0
	for i := range n {
		color := dnsColors[i%2]
		if err := s.SetTargets(ctx, dnsBenchRoute, []string{color.target}); err != nil {
			return err
		}
		b, err := exec.CommandContext(ctx, digBin, "@"+host, "-p", port, "+short", "+tries=1", "+time=2", strings.TrimSuffix(dnsBenchHost, ".")).Output()
		if err != nil {
			return fmt.Errorf("dig: %w", err)
		}
		if strings.TrimSpace(string(b)) == color.ip {
			right++
		}
	}
	fmt.Fprintf(out, "  dig @%s -p %s %s right after a switch: %d of %d answered the new address\n",
		host, port, strings.TrimSuffix(dnsBenchHost, "."), right, n)
	return nil
}
