package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/cutover/cutover/lb"
)

// Server is the built-in authoritative DNS server of the dns router, for
// one zone, on UDP and TCP. It is safe for concurrent use.
//
// Each route's host answers with the addresses of its active targets (A
// for IPv4, AAAA for IPv6); a canary split answers with one color's
// addresses per query, chosen by weight, so that a client follows one
// whole color. The apex answers SOA and NS. Names outside the zone get
// REFUSED. Queries read an immutable table without a lock: a switch is
// visible to the next query once SetTargets or SetSplit returns.
//
// The routing table can be changed before Start and after Close; it is
// exported with Snapshot and restored with Restore.
type Server struct {
	cfg ServerConfig
	log *slog.Logger

	table atomic.Pointer[table]

	mu      sync.Mutex // serializes table changes and start/close
	servers []*mdns.Server
	addr    string
	served  sync.WaitGroup
	started bool
	closed  bool
}

// NewServer returns a server for cfg with no routes; it answers queries
// once started. A nil logger discards.
func NewServer(cfg ServerConfig, logger *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("dns server: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, log: logger.With("zone", cfg.Zone)}
	s.table.Store(newTable(cfg.Zone, nextSerial(0), map[string]*routeEntry{}, cfg.fixedNames()))
	return s, nil
}

// Zone returns the zone served, canonical ("example.test.").
func (s *Server) Zone() string { return s.cfg.Zone }

// TTL returns the TTL of answers.
func (s *Server) TTL() time.Duration { return s.cfg.TTL }

// Start binds Listen on UDP and TCP (the same port) and serves until
// Close. With port 0 both get the same free port. Errors name the
// address.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return fmt.Errorf("dns server: %w", lb.ErrClosed)
	case s.started:
		return fmt.Errorf("dns server on %s: already started", s.addr)
	}
	pc, ln, err := listenBoth(ctx, s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("dns server: %w", err)
	}
	h := mdns.HandlerFunc(s.serveDNS)
	udp := &mdns.Server{PacketConn: pc, Handler: h, UDPSize: maxUDPSize}
	tcp := &mdns.Server{Listener: ln, Handler: h}
	for _, srv := range []*mdns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		s.served.Go(func() { errc <- srv.ActivateAndServe() })
		select {
		case <-started:
			s.servers = append(s.servers, srv)
		case err := <-errc:
			for _, running := range s.servers {
				_ = running.Shutdown()
			}
			s.servers = nil
			pc.Close()
			ln.Close()
			return fmt.Errorf("dns server on %s: %w", pc.LocalAddr(), err)
		}
	}
	s.addr = pc.LocalAddr().String()
	s.started = true
	s.log.Info("dns server listening", "addr", s.addr, "ttl", s.cfg.TTL)
	return nil
}

// listenBoth binds addr on UDP, then TCP on the port UDP got. When the
// port was 0 and TCP finds it taken, it tries other ports.
func listenBoth(ctx context.Context, addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: %v", addr, err)
	}
	var lc net.ListenConfig
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listening on udp %s: %w", addr, err)
		}
		_, bound, _ := net.SplitHostPort(pc.LocalAddr().String())
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, bound))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 10 {
			return nil, nil, fmt.Errorf("listening on tcp %s: %w", net.JoinHostPort(host, bound), err)
		}
	}
}

// Addr returns the address served (UDP and TCP), with the port chosen
// for a Listen port of 0; "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops serving and waits for queries in progress, or until ctx
// ends. The routing table stays as it was (Snapshot still reads it).
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers, addr := s.servers, s.addr
	s.mu.Unlock()

	var errs []error
	for _, srv := range servers {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() { s.served.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dns server on %s: closing: %w", addr, err)
	}
	s.log.Info("dns server closed", "addr", addr)
	return nil
}

// publish stores a new table made of routes. Call with s.mu held.
func (s *Server) publish(routes map[string]*routeEntry) {
	old := s.table.Load()
	s.table.Store(newTable(s.cfg.Zone, nextSerial(old.serial), routes, s.cfg.fixedNames()))
}

// nextSerial is the SOA serial after prev: the current Unix time, or
// prev+1 when that is not larger, so that it always grows.
func nextSerial(prev uint32) uint32 {
	now := uint32(time.Now().Unix())
	if now > prev {
		return now
	}
	return prev + 1
}
