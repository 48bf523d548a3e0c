package dns

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/cutover/cutover/lb"
)

func appRoute() lb.Route {
	return lb.Route{Name: "shop/web", Host: "app.example.test", Health: lb.Health{Path: "/healthz"}}
}

func TestServer_SwitchIsAnsweredByTheNextQuery(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{})
	if err := s.EnsureRoute(ctx, appRoute()); err != nil {
		t.Fatal(err)
	}
	for _, color := range []struct{ target, ip string }{
		{"127.0.0.11:8080", "127.0.0.11"},
		{"127.0.0.12:8080", "127.0.0.12"},
		{"127.0.0.11:8080", "127.0.0.11"},
	} {
		if err := s.SetTargets(ctx, "shop/web", []string{color.target}); err != nil {
			t.Fatal(err)
		}
		for _, network := range []string{"udp", "tcp"} {
			r := ask(t, network, s.Addr(), "app.example.test.", mdns.TypeA)
			if got := addresses(r); !slices.Equal(got, []string{color.ip}) {
				t.Errorf("after switching to %s, %s query answers %v", color.target, network, got)
			}
			if !r.Authoritative || r.Rcode != mdns.RcodeSuccess {
				t.Errorf("%s answer: aa=%t rcode=%s, want an authoritative NOERROR", network, r.Authoritative, mdns.RcodeToString[r.Rcode])
			}
			if ttl := r.Answer[0].Header().Ttl; ttl != 5 {
				t.Errorf("TTL %d, want the default 5", ttl)
			}
		}
	}
	targets, err := s.Targets(ctx, "shop/web")
	if err != nil || !slices.Equal(targets, []string{"127.0.0.11:8080"}) {
		t.Errorf("Targets = %v, %v", targets, err)
	}
}

func TestServer_DigSeesTheSwitch(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{})
	if err := s.EnsureRoute(ctx, appRoute()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080"}); err != nil {
		t.Fatal(err)
	}
	if got := digShort(t, s.Addr(), "app.example.test"); !slices.Equal(got, []string{"127.0.0.11"}) {
		t.Fatalf("dig before the switch: %v", got)
	}
	if err := s.SetTargets(ctx, "shop/web", []string{"127.0.0.12:8080", "127.0.0.12:8081"}); err != nil {
		t.Fatal(err)
	}
	if got := digShort(t, s.Addr(), "app.example.test"); !slices.Equal(got, []string{"127.0.0.12"}) {
		t.Errorf("dig after the switch: %v, want the new color's one address", got)
	}
	if got := digShort(t, s.Addr(), "+tcp", "app.example.test"); !slices.Equal(got, []string{"127.0.0.12"}) {
		t.Errorf("dig +tcp after the switch: %v", got)
	}
	out := dig(t, s.Addr(), "nope.example.test")
	if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "flags: qr aa") {
		t.Errorf("dig of a name not in the zone:\n%s", out)
	}
}

func TestServer_WeightedAnswersFollowTheCanaryWeight(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{Rand: seeded(1)})
	if err := s.EnsureRoute(ctx, appRoute()); err != nil {
		t.Fatal(err)
	}
	stable := []string{"127.0.0.11:8080", "[fd00::11]:8080"}
	canary := []string{"127.0.0.12:8080"}
	for _, tc := range []struct {
		weight   int
		min, max int // canary answers out of 1000
	}{
		{0, 0, 0},
		{10, 70, 130},
		{50, 450, 550},
		{100, 1000, 1000},
	} {
		if err := s.SetSplit(ctx, "shop/web", lb.Split{Stable: stable, Canary: canary, Weight: tc.weight}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for range 1000 {
			got := addresses(ask(t, "udp", s.Addr(), "app.example.test.", mdns.TypeANY))
			switch {
			case slices.Equal(got, []string{"127.0.0.12"}):
				n++
			case slices.Equal(got, []string{"127.0.0.11", "fd00::11"}):
			default:
				t.Fatalf("weight %d: an answer mixes colors or misses one: %v", tc.weight, got)
			}
		}
		if n < tc.min || n > tc.max {
			t.Errorf("weight %d%%: %d of 1000 answers were the canary, want %d–%d", tc.weight, n, tc.min, tc.max)
		}
	}
	st := s.Status()
	if len(st) != 1 || len(st[0].Targets) != 1 || st[0].Targets[0].State != lb.TargetActive {
		t.Errorf("Status at weight 100: %+v, want the canary as the only active target", st)
	}
}

func TestServer_NegativeAndZoneAnswers(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{NSAddrs: nil})
	for _, r := range []lb.Route{
		appRoute(),
		{Name: "shop/api", Host: "api.deep.example.test"},
		{Name: "shop/v6", Host: "v6.example.test."},
	} {
		if err := s.EnsureRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080"}))
	must(t, s.SetTargets(ctx, "shop/v6", []string{"[fd00::12]:8080"}))

	for _, tc := range []struct {
		desc       string
		name       string
		qtype      uint16
		rcode      int
		aa         bool
		answers    []string // A/AAAA addresses, or the answer types for others
		soaInAuth  bool
		answerType uint16
	}{
		{desc: "A of a route host", name: "app.example.test.", qtype: mdns.TypeA, rcode: mdns.RcodeSuccess, aa: true, answers: []string{"127.0.0.11"}},
		{desc: "case-insensitive", name: "APP.Example.Test.", qtype: mdns.TypeA, rcode: mdns.RcodeSuccess, aa: true, answers: []string{"127.0.0.11"}},
		{desc: "AAAA of an IPv4-only host is NODATA", name: "app.example.test.", qtype: mdns.TypeAAAA, rcode: mdns.RcodeSuccess, aa: true, soaInAuth: true},
		{desc: "AAAA of an IPv6 host", name: "v6.example.test.", qtype: mdns.TypeAAAA, rcode: mdns.RcodeSuccess, aa: true, answers: []string{"fd00::12"}},
		{desc: "TXT of a host is NODATA", name: "app.example.test.", qtype: mdns.TypeTXT, rcode: mdns.RcodeSuccess, aa: true, soaInAuth: true},
		{desc: "route without targets is NODATA", name: "api.deep.example.test.", qtype: mdns.TypeA, rcode: mdns.RcodeSuccess, aa: true, soaInAuth: true},
		{desc: "empty non-terminal is NODATA", name: "deep.example.test.", qtype: mdns.TypeA, rcode: mdns.RcodeSuccess, aa: true, soaInAuth: true},
		{desc: "unknown name is NXDOMAIN", name: "nope.example.test.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError, aa: true, soaInAuth: true},
		{desc: "below a host is NXDOMAIN", name: "x.app.example.test.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError, aa: true, soaInAuth: true},
		{desc: "SOA at the apex", name: "example.test.", qtype: mdns.TypeSOA, rcode: mdns.RcodeSuccess, aa: true, answerType: mdns.TypeSOA},
		{desc: "NS at the apex", name: "example.test.", qtype: mdns.TypeNS, rcode: mdns.RcodeSuccess, aa: true, answerType: mdns.TypeNS},
		{desc: "A at the apex is NODATA", name: "example.test.", qtype: mdns.TypeA, rcode: mdns.RcodeSuccess, aa: true, soaInAuth: true},
		{desc: "outside the zone is REFUSED", name: "app.other.test.", qtype: mdns.TypeA, rcode: mdns.RcodeRefused},
		{desc: "the parent zone is REFUSED", name: "test.", qtype: mdns.TypeSOA, rcode: mdns.RcodeRefused},
		{desc: "zone transfer is REFUSED", name: "example.test.", qtype: mdns.TypeAXFR, rcode: mdns.RcodeRefused},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			network := "udp"
			if tc.qtype == mdns.TypeAXFR {
				network = "tcp"
			}
			r := ask(t, network, s.Addr(), tc.name, tc.qtype)
			if r.Rcode != tc.rcode || r.Authoritative != tc.aa {
				t.Fatalf("rcode %s aa=%t, want %s aa=%t", mdns.RcodeToString[r.Rcode], r.Authoritative, mdns.RcodeToString[tc.rcode], tc.aa)
			}
			if got := addresses(r); !slices.Equal(got, tc.answers) {
				t.Errorf("addresses %v, want %v", got, tc.answers)
			}
			if tc.answerType != 0 && (len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != tc.answerType) {
				t.Errorf("answer %v, want one %s", r.Answer, mdns.TypeToString[tc.answerType])
			}
			hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == mdns.TypeSOA
			if hasSOA != tc.soaInAuth {
				t.Errorf("authority %v, want SOA: %t", r.Ns, tc.soaInAuth)
			}
		})
	}

	// The SOA's serial grows with every change, so secondaries and humans
	// can tell.
	serial := func() uint32 { return ask(t, "udp", s.Addr(), testZone, mdns.TypeSOA).Answer[0].(*mdns.SOA).Serial }
	before := serial()
	must(t, s.SetTargets(ctx, "shop/web", []string{"127.0.0.12:8080"}))
	if after := serial(); after <= before {
		t.Errorf("SOA serial %d after a switch, was %d", after, before)
	}
}

func TestServer_NSGlue(t *testing.T) {
	s := startServer(t, ServerConfig{NSAddrs: mustAddrs("127.0.0.1")})
	r := ask(t, "udp", s.Addr(), testZone, mdns.TypeNS)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.NS).Ns != "ns.example.test." {
		t.Fatalf("NS answer %v", r.Answer)
	}
	if got := addresses(&mdns.Msg{Answer: r.Extra}); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("glue %v, want 127.0.0.1", got)
	}
	if got := addresses(ask(t, "udp", s.Addr(), "ns.example.test.", mdns.TypeA)); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("A of the NS name: %v", got)
	}
}

func TestServer_RefusesBadRoutesAndTargets(t *testing.T) {
	ctx := t.Context()
	s, err := NewServer(ServerConfig{Zone: "example.test", Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.EnsureRoute(ctx, appRoute()))

	err = s.EnsureRoute(ctx, lb.Route{Name: "shop/other", Host: "app.other.test"})
	if !errors.Is(err, lb.ErrInvalid) || !strings.Contains(err.Error(), "app.other.test.") || !strings.Contains(err.Error(), "example.test.") {
		t.Errorf("host outside the zone: %v, want an error naming the host and the zone", err)
	}
	err = s.EnsureRoute(ctx, lb.Route{Name: "shop/admin", Host: "APP.example.test."})
	if !errors.Is(err, lb.ErrHostTaken) || !strings.Contains(err.Error(), "shop/web") {
		t.Errorf("second route on a host: %v", err)
	}
	if err := s.EnsureRoute(ctx, lb.Route{Name: "shop/nohost"}); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("route without host: %v", err)
	}
	if err := s.SetTargets(ctx, "shop/web", []string{"web-1:8080"}); !errors.Is(err, lb.ErrInvalid) || !strings.Contains(err.Error(), "web-1") {
		t.Errorf("target by name: %v", err)
	}
	if err := s.SetTargets(ctx, "shop/nope", nil); !errors.Is(err, lb.ErrNoRoute) {
		t.Errorf("unknown route: %v", err)
	}
	err = s.SetSplit(ctx, "shop/web", lb.Split{Stable: []string{"127.0.0.11:80"}, Weight: 10})
	if !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("split without canary: %v", err)
	}
	if _, err := NewServer(ServerConfig{Zone: "example.test.", Listen: "127.0.0.1:0", TTL: 1500 * 1e6}, nil); err == nil {
		t.Error("a TTL of 1.5s was accepted")
	}
	if err := s.RemoveRoute(ctx, "shop/web"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureRoute(ctx, lb.Route{Name: "shop/admin", Host: "app.example.test"}); err != nil {
		t.Errorf("host free again after RemoveRoute: %v", err)
	}
}

func TestServer_RemovedRouteIsNXDOMAIN(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{})
	must(t, s.EnsureRoute(ctx, appRoute()))
	must(t, s.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080"}))
	must(t, s.RemoveRoute(ctx, "shop/web"))
	if r := ask(t, "udp", s.Addr(), "app.example.test.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Errorf("after RemoveRoute: %s %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	if len(s.Status()) != 0 {
		t.Errorf("Status lists %v", s.Status())
	}
}

func TestServer_CloseThenStartFails(t *testing.T) {
	s, err := NewServer(ServerConfig{Zone: testZone, Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Start(t.Context()))
	taken := s.Addr()
	other, err := NewServer(ServerConfig{Zone: testZone, Listen: taken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(t.Context()); err == nil || !strings.Contains(err.Error(), taken) {
		t.Errorf("second server on %s: %v, want an error naming the address", taken, err)
	}
	must(t, s.Close(context.Background()))
	if err := s.Start(t.Context()); !errors.Is(err, lb.ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestServer_RefusesDynamicUpdates(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, ServerConfig{})
	must(t, s.EnsureRoute(ctx, appRoute()))
	must(t, s.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080"}))
	m := new(mdns.Msg)
	m.SetUpdate(testZone)
	rr, err := mdns.NewRR("app.example.test. 5 IN A 10.0.0.1")
	must(t, err)
	m.Insert([]mdns.RR{rr})
	r, _, err := (&mdns.Client{Net: "tcp"}).ExchangeContext(ctx, m, s.Addr())
	must(t, err)
	if r.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("UPDATE answered %s, want NOTIMP", mdns.RcodeToString[r.Rcode])
	}
	if got := addresses(ask(t, "udp", s.Addr(), "app.example.test.", mdns.TypeA)); !slices.Equal(got, []string{"127.0.0.11"}) {
		t.Errorf("after an UPDATE the host answers %v", got)
	}
}
