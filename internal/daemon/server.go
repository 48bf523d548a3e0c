package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/dns"
)

// DefaultShutdownTimeout is how long a stopping daemon lets running
// deploys finish before it cancels them.
const DefaultShutdownTimeout = 2 * time.Minute

// DebounceFlag turns a --trigger-debounce value, where 0 means no
// debounce, into Config.Debounce, where 0 means the default.
func DebounceFlag(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// Config is what a Server needs.
type Config struct {
	Store  *store.Store
	Engine engine.Engine
	// Proxy is the router; nil means a new lb.Proxy.
	Proxy Proxy
	// DNS, when set, runs the dns router's built-in authoritative server
	// (cutover serve --dns-listen/--dns-zone/--dns-ttl); its routing table
	// is kept in the store like the proxy's.
	DNS *dns.ServerConfig
	// Listen is a TCP address to serve the API on besides the socket
	// ("127.0.0.1:7777"); "" serves the socket only. It needs Token.
	Listen string
	// Token is the bearer token TCP clients must send.
	Token string
	// ShutdownTimeout bounds how long running operations may go on after
	// the daemon was told to stop (DefaultShutdownTimeout when zero).
	ShutdownTimeout time.Duration
	// Version is reported by GET /v1/health.
	Version string
	Logger  *slog.Logger

	// Hooks are the webhook endpoints (Hooks.Listen: their own listener).
	Hooks HooksConfig
	// Debounce is how long pushes for a stack are gathered before its
	// release starts (DefaultDebounce when zero; negative: none; see
	// DebounceFlag for a flag whose 0 means none).
	Debounce time.Duration
	// TriggerLockWait is how long a release that pushes or the periodic
	// check started waits for a deploy in progress (DefaultTriggerLockWait
	// when zero).
	TriggerLockWait time.Duration
	// CheckInterval runs cutover check that often and redeploys drifted
	// watched services; zero: never.
	CheckInterval time.Duration
	// Registry answers digest questions (nil: a registry.Client with this
	// process's docker config).
	Registry DigestSource
	// Notify sends release notifications (nil: built with the defaults).
	Notify *deploy.Notifications
	// Observer receives the progress events of the releases the daemon
	// starts by itself (pushes, the periodic check).
	Observer deploy.Observer
}

// Server is the cutover daemon.
type Server struct {
	cfg     Config
	log     *slog.Logger
	ops     *Ops
	proxy   Proxy
	router  *persistingRouter
	dns     *dns.Server // nil without Config.DNS
	started time.Time

	lock     *lockFile
	socket   string
	unix     *net.UnixListener
	tcp      net.Listener
	servers  []*http.Server
	serveErr chan error
	auto     autoConfirms
	triggered
}

// New checks cfg and returns a Server; Start makes it serve.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Engine == nil {
		return nil, errors.New("daemon: a store and an engine are required")
	}
	if cfg.Listen != "" && cfg.Token == "" {
		return nil, fmt.Errorf("daemon: serving the API on TCP (%s) needs a bearer token", cfg.Listen)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Proxy == nil {
		cfg.Proxy = lb.NewProxy(cfg.Logger.With("component", "proxy"))
	}
	s := &Server{cfg: cfg, log: cfg.Logger, proxy: cfg.Proxy, socket: SocketPath(cfg.Store.Dir()), serveErr: make(chan error, 3)}
	s.router = newPersistingRouter(cfg.Proxy, cfg.Store, cfg.Logger)
	if cfg.DNS != nil {
		srv, err := dns.NewServer(*cfg.DNS, cfg.Logger.With("component", "dns"))
		if err != nil {
			return nil, fmt.Errorf("daemon: %w", err)
		}
		s.dns = srv
	}
	s.ops = NewOps(cfg.Engine, cfg.Store, cfg.Logger)
	s.ops.Registry = cfg.Registry
	s.ops.Notify = cfg.Notify
	if s.ops.Notify == nil {
		s.ops.Notify = deploy.NewNotifications(deploy.NotificationsConfig{Logger: cfg.Logger.With("component", "notify")})
	}
	return s, nil
}

// DNSAddr is where the built-in DNS server answers (UDP and TCP), with the
// port the system chose for port 0; "" without one or before Start.
func (s *Server) DNSAddr() string {
	if s.dns == nil {
		return ""
	}
	return s.dns.Addr()
}

// startRouters restores the routing tables (the proxy's, the built-in DNS
// server's) and gives deploys the router mux over them; nginx and RFC 2136
// routers are built from each stack's settings, which the mux learns from
// the store for status.
func (s *Server) startRouters(ctx context.Context) error {
	if err := restoreRoutes(ctx, s.cfg.Store, s.proxy, s.router, s.log); err != nil {
		return err
	}
	mc := deploy.MuxConfig{Proxy: s.router, Store: s.cfg.Store, Logger: s.log.With("component", "routers")}
	if s.dns != nil {
		builtin, err := deploy.NewPersistentDNS(ctx, s.dns, s.cfg.Store, dnsBackendBuiltin, s.log.With("component", "dns"))
		if err != nil {
			return err
		}
		if err := s.dns.Start(ctx); err != nil {
			return err
		}
		mc.DNS = builtin
	}
	mux := deploy.NewRouterMux(mc)
	mux.UseStored(ctx)
	s.ops.Router = mux
	s.ops.Routes = mux.Status
	return nil
}

// dnsBackendBuiltin names the built-in DNS server's routes in the store.
const dnsBackendBuiltin = "builtin"

// SocketPath is the API socket.
func (s *Server) SocketPath() string { return s.socket }

// TCPAddr is the TCP address the API listens on ("" without --listen),
// with the port the system chose for ":0".
func (s *Server) TCPAddr() string {
	if s.tcp == nil {
		return ""
	}
	return s.tcp.Addr().String()
}

// Start takes the state dir (one daemon per dir), restores the routing
// table on the proxy, binds the socket (and TCP) and serves in the
// background. Run then waits for the stop signal.
func (s *Server) Start(ctx context.Context) (err error) {
	s.started = time.Now()
	s.lock, err = lockExclusive(s.socket+".lock", s.socket)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.stopTriggers()
			s.waitTriggers()
			s.release(context.WithoutCancel(ctx))
		}
	}()
	if Answers(ctx, s.socket, time.Second) {
		return fmt.Errorf("%w on %s", ErrAlreadyRunning, s.socket)
	}
	if err := s.startRouters(ctx); err != nil {
		return err
	}
	if s.unix, err = listenUnix(ctx, s.socket); err != nil {
		return err
	}
	if s.cfg.Listen != "" {
		var lc net.ListenConfig
		if s.tcp, err = lc.Listen(ctx, "tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
		}
	}
	if err := s.auto.resume(ctx, s.ops); err != nil {
		return fmt.Errorf("resuming auto-confirms: %w", err)
	}
	if err := s.startTriggers(ctx); err != nil {
		return err
	}
	h := s.handler()
	s.serve(s.unix, h, "unix")
	if s.tcp != nil {
		s.serve(s.tcp, requireToken(s.cfg.Token, h), "tcp")
	}
	if s.hooksL != nil {
		s.serveHooks()
	}
	s.log.Info("daemon started", "socket", s.socket, "listen", s.TCPAddr(), "dns", s.DNSAddr(), "hooks", s.HooksAddr(),
		"check_interval", s.cfg.CheckInterval, "pid", os.Getpid(), "version", s.cfg.Version)
	return nil
}

func (s *Server) serve(l net.Listener, h http.Handler, transport string) {
	s.serveHTTP(l, &http.Server{Handler: s.logRequests(h, transport)}, "serving on")
}

// serveHTTP serves srv on l until shutdown (which closes every server it
// started), with the daemon's header timeout and error log; a failure to
// serve ends Run, saying what (e.g. "serving on").
func (s *Server) serveHTTP(l net.Listener, srv *http.Server, what string) {
	srv.ReadHeaderTimeout = 10 * time.Second
	srv.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- fmt.Errorf("%s %s: %w", what, l.Addr(), err)
		}
	}()
}

// Run serves until ctx ends (SIGTERM, SIGINT), then shuts down: it stops
// accepting requests, lets running operations finish for up to
// ShutdownTimeout, cancels those still running (a cancelled deploy undoes
// itself) and waits for them, closes the proxy's listeners last, and
// removes the socket.
func (s *Server) Run(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.serveErr:
		s.log.Error("daemon stopping", "error", err)
	}
	s.shutdown(context.WithoutCancel(ctx))
	return err
}

func (s *Server) shutdown(ctx context.Context) {
	s.log.Info("daemon stopping: no new requests", "running", s.ops.jobs.count(), "timeout", s.cfg.ShutdownTimeout)
	s.auto.stop() // the next daemon takes the waits over
	s.stopTriggers()
	handlersDone := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, srv := range s.servers {
			wg.Go(func() { _ = srv.Shutdown(ctx) })
		}
		wg.Wait()
		close(handlersDone)
	}()
	tctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.ops.Wait(tctx); err != nil {
		n := s.ops.CancelAll()
		s.log.Warn("shutdown timeout: cancelling running operations; they undo what they did", "running", n)
		_ = s.ops.Wait(ctx)
	}
	s.ops.CancelAll() // nothing new may start now
	s.waitTriggers()
	select {
	case <-handlersDone:
	case <-time.After(5 * time.Second):
		for _, srv := range s.servers {
			_ = srv.Close()
		}
	}
	s.release(ctx)
	s.log.Info("daemon stopped")
}

// release closes the proxy and the DNS server, then the API sockets, and
// gives up the state dir.
func (s *Server) release(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.proxy.Close(pctx); err != nil {
		s.log.Warn("closing proxy", "error", err)
	}
	if s.dns != nil {
		if err := s.dns.Close(pctx); err != nil {
			s.log.Warn("closing dns server", "error", err)
		}
	}
	if s.unix != nil {
		s.unix.Close()
		if err := os.Remove(s.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing socket", "path", s.socket, "error", err)
		}
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.hooksL != nil {
		s.hooksL.Close()
	}
	nctx, ncancel := context.WithTimeout(ctx, notifyDrainTimeout)
	defer ncancel()
	if err := s.ops.Notify.Close(nctx); err != nil {
		s.log.Warn("closing notifications", "error", err)
	}
	if s.lock != nil {
		s.lock.release()
	}
}
