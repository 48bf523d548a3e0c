package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/nginx"
)

// DNSRouter is a dns router backend as the mux uses it: the built-in
// server (dns.Server) or an RFC 2136 updater (dns.Updater), usually
// wrapped to persist its routes (PersistentDNS).
type DNSRouter interface {
	Router
	splitter
	// DrainDelay is max(60 s, 3 × TTL): how long the targets that left a
	// route keep serving after a switch.
	DrainDelay() time.Duration
	TTL() time.Duration
	Zone() string
}

// RouterMux is the Router a Deployer uses: it sends each route's calls to
// the router of the route's kind (lb.Route.Router, and the stack's
// x-cutover settings): the built-in proxy, nginx, the built-in DNS server
// or RFC 2136 updates. The proxy and the built-in DNS server run in
// `cutover serve` and are given to the mux there; nginx and RFC 2136
// routers are built from the stack's x-cutover.nginx and x-cutover.dns
// blocks (UseStack) in whatever process runs the deploy, and shared by
// every stack with the same settings.
type RouterMux struct {
	proxy Router    // nil: the proxy's routes need the daemon
	dns   DNSRouter // nil: the built-in DNS server's routes need the daemon
	store *store.Store
	log   *slog.Logger

	mu       sync.Mutex
	stacks   map[string]stackRouting   // stack name → how its routes are served
	nginx    map[string]*nginx.Router  // by settings key
	updaters map[string]*PersistentDNS // by settings key
}

// MuxConfig is what a RouterMux starts from.
type MuxConfig struct {
	// Proxy is the built-in proxy (the daemon's); nil in-process.
	Proxy Router
	// DNS is the built-in DNS server (cutover serve --dns-listen); nil
	// where none runs.
	DNS DNSRouter
	// Store keeps the routes of RFC 2136 updaters between runs.
	Store  *store.Store
	Logger *slog.Logger
}

var (
	_ Router   = (*RouterMux)(nil)
	_ splitter = (*RouterMux)(nil)
)

// NewRouterMux returns a mux over cfg's routers.
func NewRouterMux(cfg MuxConfig) *RouterMux {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RouterMux{proxy: cfg.Proxy, dns: cfg.DNS, store: cfg.Store, log: log,
		stacks: map[string]stackRouting{}, nginx: map[string]*nginx.Router{}, updaters: map[string]*PersistentDNS{}}
}

// stackRouting is how a stack's routes are served.
type stackRouting struct {
	kind       string // compose.RouterProxy, RouterNginx or RouterDNS
	workingDir string
	nginx      compose.NginxSettings
	dns        compose.DNSSettings
}

// UseStack learns how st's routes are served, from its x-cutover block.
// It builds nothing: routers are built on first use.
func (m *RouterMux) UseStack(st *compose.Stack) {
	sr := routingOf(st)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stacks[st.Name] = sr
}

// routingOf is how st's x-cutover block says its routes are served.
func routingOf(st *compose.Stack) stackRouting {
	sr := stackRouting{kind: compose.RouterProxy, workingDir: st.WorkingDir()}
	switch st.Ext.Router {
	case compose.RouterNginx, compose.RouterDNS:
		sr.kind = st.Ext.Router
	}
	if st.Ext.Nginx != nil {
		sr.nginx = *st.Ext.Nginx
	}
	if st.Ext.DNS != nil {
		sr.dns = *st.Ext.DNS
	}
	return sr
}

// UseStored learns the routing of each named stack (every stack when none
// is named) from its latest recorded release, and builds the nginx and
// RFC 2136 routers they use, so that Status lists their routes. Stacks it
// cannot read are logged and skipped.
func (m *RouterMux) UseStored(ctx context.Context, stacks ...string) {
	if m.store == nil {
		return
	}
	if len(stacks) == 0 {
		all, err := m.store.ListStacks(ctx)
		if err != nil {
			m.log.Warn("reading stacks for their routers", "error", err)
			return
		}
		for _, s := range all {
			stacks = append(stacks, s.Name)
		}
	}
	for _, name := range stacks {
		st, err := storedStack(ctx, m.store, name)
		if err != nil {
			m.log.Debug("stack routing unknown", "stack", name, "error", err)
			continue
		}
		m.UseStack(st)
		sr := routingOf(st)
		if sr.kind == compose.RouterNginx || (sr.kind == compose.RouterDNS && sr.dns.EffectiveMode() == compose.DNSModeRFC2136) {
			if _, err := m.backend(ctx, sr, name+"/"); err != nil {
				m.log.Warn("router of stack unusable", "stack", name, "error", err)
			}
		}
	}
}

// storedStack loads a stack as its latest release with a spec recorded it.
func storedStack(ctx context.Context, s *store.Store, name string) (*compose.Stack, error) {
	releases, err := s.ListReleases(ctx, name)
	if err != nil {
		return nil, err
	}
	for i := len(releases) - 1; i >= 0; i-- {
		if len(releases[i].Spec) > 0 {
			return releaseStack(ctx, s, releases[i])
		}
	}
	return nil, fmt.Errorf("stack %s: no release with a recorded spec", name)
}

// Learn makes sure the mux knows how stack's routes are served now: from
// its latest recorded release when nothing told it yet (a fresh CLI
// process), so that settling the release awaiting confirmation reaches
// the routes where they are.
func (m *RouterMux) Learn(ctx context.Context, stack string) {
	if _, known := m.routing(stack); !known {
		m.UseStored(ctx, stack)
	}
}

// routing returns how the stack of a route (or the stack itself) is served.
func (m *RouterMux) routing(name string) (stackRouting, bool) {
	stack, _, _ := strings.Cut(name, "/")
	m.mu.Lock()
	defer m.mu.Unlock()
	sr, ok := m.stacks[stack]
	return sr, ok
}

// CanRoute reports whether r can be served here, without building or
// changing anything: a route of the proxy or of the built-in DNS server
// needs the daemon (ErrNoRouter); an RFC 2136 route needs its TSIG key.
func (m *RouterMux) CanRoute(r lb.Route) error {
	sr, known := m.routing(r.Name)
	if !known {
		sr = stackRouting{kind: kindOf(r)}
	}
	return m.canRoute(sr, r)
}

// CanRouteFor is CanRoute for a route of st as st's x-cutover block says
// to serve it, before (and without) the mux learning it: a deploy checks
// its plan before it holds the stack's lock, and must not change where a
// release still running sends its route calls.
func (m *RouterMux) CanRouteFor(st *compose.Stack, r lb.Route) error {
	return m.canRoute(routingOf(st), r)
}

func (m *RouterMux) canRoute(sr stackRouting, r lb.Route) error {
	kind := kindOf(r)
	switch {
	case kind == compose.RouterProxy && m.proxy == nil:
		return noRouter{fmt.Sprintf("route %s (listen %s) needs the built-in proxy, which runs in the daemon: start `cutover serve` and deploy again (or set %s.router: nginx, dns or none)",
			r.Name, r.Listen, compose.ExtensionKey)}
	case kind == compose.RouterDNS && sr.dns.EffectiveMode() == compose.DNSModeBuiltin:
		if m.dns == nil {
			return noRouter{fmt.Sprintf("route %s (host %s) needs cutover's built-in DNS server, which runs in the daemon: start `cutover serve --dns-listen ADDR --dns-zone ZONE` and deploy again (or set %s.dns.mode: rfc2136 to update your own DNS server)",
				r.Name, r.Host, compose.ExtensionKey)}
		}
		return checkBuiltin(sr.dns, m.dns)
	case kind == compose.RouterDNS:
		_, err := updaterConfig(sr.dns, sr.workingDir)
		return err
	}
	return nil
}

// kindOf is a route's router kind, proxy for "".
func kindOf(r lb.Route) string {
	if r.Router == "" {
		return compose.RouterProxy
	}
	return r.Router
}

// backend returns the router that serves the stack's routes, building an
// nginx router or an RFC 2136 updater on first use.
func (m *RouterMux) backend(ctx context.Context, sr stackRouting, name string) (Router, error) {
	switch sr.kind {
	case compose.RouterNginx:
		return m.nginxRouter(sr)
	case compose.RouterDNS:
		return m.dnsBackend(ctx, sr, name)
	}
	if m.proxy == nil {
		return nil, noRouter{fmt.Sprintf("route %s needs the built-in proxy, which runs in the daemon: start `cutover serve`", name)}
	}
	return m.proxy, nil
}

func (m *RouterMux) dnsBackend(ctx context.Context, sr stackRouting, name string) (DNSRouter, error) {
	if sr.dns.EffectiveMode() == compose.DNSModeRFC2136 {
		return m.updater(ctx, sr)
	}
	if m.dns == nil {
		return nil, noRouter{fmt.Sprintf("route %s needs cutover's built-in DNS server, which runs in the daemon: start `cutover serve --dns-listen ADDR --dns-zone ZONE`", name)}
	}
	if err := checkBuiltin(sr.dns, m.dns); err != nil {
		return nil, err
	}
	return m.dns, nil
}

// checkBuiltin refuses a stack whose x-cutover.dns says another zone or
// TTL than the daemon's built-in server has.
func checkBuiltin(s compose.DNSSettings, srv DNSRouter) error {
	if s.Zone != "" && !strings.EqualFold(strings.TrimSuffix(s.Zone, "."), strings.TrimSuffix(srv.Zone(), ".")) {
		return BadInput(fmt.Sprintf("%s.dns.zone: %s, but the daemon's built-in DNS server serves zone %s (cutover serve --dns-zone)", compose.ExtensionKey, s.Zone, srv.Zone()))
	}
	if s.TTL != nil && time.Duration(*s.TTL) != srv.TTL() {
		return BadInput(fmt.Sprintf("%s.dns.ttl: %s, but the daemon's built-in DNS server answers with TTL %s (cutover serve --dns-ttl)", compose.ExtensionKey, time.Duration(*s.TTL), srv.TTL()))
	}
	return nil
}

// routerOf returns the router of the named route: the one its stack's
// settings say, else the first router that knows the route, else the
// proxy.
func (m *RouterMux) routerOf(ctx context.Context, name string) (Router, error) {
	if sr, ok := m.routing(name); ok {
		return m.backend(ctx, sr, name)
	}
	for _, r := range m.routers() {
		if _, err := r.Targets(ctx, name); err == nil {
			return r, nil
		}
	}
	return m.backend(ctx, stackRouting{kind: compose.RouterProxy}, name)
}

// routers lists every router the mux has or has built.
func (m *RouterMux) routers() []Router {
	var out []Router
	if m.proxy != nil {
		out = append(out, m.proxy)
	}
	if m.dns != nil {
		out = append(out, m.dns)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(m.nginx)) {
		out = append(out, m.nginx[k])
	}
	for _, k := range slices.Sorted(maps.Keys(m.updaters)) {
		out = append(out, m.updaters[k])
	}
	return out
}

// EnsureRoute creates or updates r on the router of its kind.
func (m *RouterMux) EnsureRoute(ctx context.Context, r lb.Route) error {
	sr, known := m.routing(r.Name)
	if !known || sr.kind != kindOf(r) {
		sr = stackRouting{kind: kindOf(r), workingDir: sr.workingDir, nginx: sr.nginx, dns: sr.dns}
	}
	b, err := m.backend(ctx, sr, r.Name)
	if err != nil {
		return err
	}
	return b.EnsureRoute(ctx, r)
}

// RemoveRoute removes the route from its router.
func (m *RouterMux) RemoveRoute(ctx context.Context, name string) error {
	b, err := m.routerOf(ctx, name)
	if err != nil {
		return err
	}
	return b.RemoveRoute(ctx, name)
}

// CheckTargets probes addrs with the route's router.
func (m *RouterMux) CheckTargets(ctx context.Context, name string, addrs []string) error {
	b, err := m.routerOf(ctx, name)
	if err != nil {
		return err
	}
	return b.CheckTargets(ctx, name, addrs)
}

// SetTargets switches the route on its router.
func (m *RouterMux) SetTargets(ctx context.Context, name string, addrs []string) error {
	b, err := m.routerOf(ctx, name)
	if err != nil {
		return err
	}
	return b.SetTargets(ctx, name, addrs)
}

// SetSplit splits the route's traffic on its router.
func (m *RouterMux) SetSplit(ctx context.Context, name string, s lb.Split) error {
	b, err := m.routerOf(ctx, name)
	if err != nil {
		return err
	}
	sp, ok := b.(splitter)
	if !ok {
		return fmt.Errorf("route %s: this router cannot split traffic by weight", name)
	}
	return sp.SetSplit(ctx, name, s)
}

// Targets returns the route's targets on its router.
func (m *RouterMux) Targets(ctx context.Context, name string) ([]string, error) {
	b, err := m.routerOf(ctx, name)
	if err != nil {
		return nil, err
	}
	return b.Targets(ctx, name)
}

// Status lists the routes of every router, sorted by name; a route two
// routers list (two stacks' nginx settings sharing a directory) is listed
// once.
func (m *RouterMux) Status() []lb.RouteStatus {
	var out []lb.RouteStatus
	for _, r := range m.routers() {
		for _, rs := range r.Status() {
			if !slices.ContainsFunc(out, func(o lb.RouteStatus) bool { return o.Route.Name == rs.Route.Name }) {
				out = append(out, rs)
			}
		}
	}
	slices.SortFunc(out, func(a, b lb.RouteStatus) int { return strings.Compare(a.Route.Name, b.Route.Name) })
	return out
}

// KeepOld is how long the targets that left the named route must keep
// serving after a switch before they may stop: 0 for routers that drain
// (proxy, nginx); for dns, max(60 s, 3 × TTL), or max(floor, 3 × TTL) when
// floor (x-cutover.dns.keep_old) is set.
func (m *RouterMux) KeepOld(ctx context.Context, name string, floor time.Duration) time.Duration {
	b, err := m.routerOf(ctx, name)
	if err != nil {
		return 0
	}
	d, ok := b.(DNSRouter)
	if !ok {
		return 0
	}
	if floor <= 0 {
		return d.DrainDelay()
	}
	return max(floor, 3*d.TTL())
}
