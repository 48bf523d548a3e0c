package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/lb/dns"
)

// serveOptions are serve's flags.
type serveOptions struct {
	listen          string
	shutdownTimeout time.Duration
	dnsListen       string
	dnsZone         string
	dnsTTL          time.Duration
}

// dnsConfig is the built-in DNS server's configuration from the flags; nil
// without --dns-listen.
func (o *serveOptions) dnsConfig() (*dns.ServerConfig, error) {
	switch {
	case o.dnsListen == "" && o.dnsZone == "":
		return nil, nil
	case o.dnsListen == "":
		return nil, fmt.Errorf("--dns-zone %s: give the address the DNS server answers on too (--dns-listen 127.0.0.1:5353)", o.dnsZone)
	case o.dnsZone == "":
		return nil, fmt.Errorf("--dns-listen %s: give the zone the DNS server is authoritative for too (--dns-zone example.test.)", o.dnsListen)
	}
	return &dns.ServerConfig{Listen: o.dnsListen, Zone: o.dnsZone, TTL: o.dnsTTL}, nil
}

func newServeCmd(g *globals) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--token-file F] [--shutdown-timeout D] [--dns-listen ADDR --dns-zone ZONE [--dns-ttl D]]",
		Short: "Run the cutover daemon: the API, the built-in proxy and DNS routers, and deploys that outlive the terminal",
		Long: `Serve runs the cutover daemon. It answers the CLI on a unix socket in the state
dir (<state-dir>/cutover.sock, mode 0600) and, with --listen, on TCP, where every
request must carry the bearer token from --token-file or CUTOVER_TOKEN.

While a daemon answers on the state dir's socket (or --server / CUTOVER_SERVER
names one), deploy, confirm, rollback, abort, unlock, down, status and history
run in the daemon: it owns the built-in proxy router (router: proxy), saves its
routing table in the state dir and restores it when it starts again. A deploy
goes on when the CLI that started it goes away.

With --dns-listen and --dns-zone the daemon also runs the dns router's built-in
authoritative DNS server for that zone (UDP and TCP on one port; port 0 picks a
free one, logged at start) for stacks with router: dns; its table is saved in the
state dir and restored at start like the proxy's. Answers carry --dns-ttl.

On SIGTERM or SIGINT the daemon stops accepting requests, lets running deploys
finish for up to --shutdown-timeout, then cancels them (a cancelled deploy
undoes itself), closes the proxy's listeners and the DNS server, and removes the
socket.`,
		Example: `  cutover serve
  CUTOVER_TOKEN=$(cat /etc/cutover/token) cutover serve --listen 127.0.0.1:7777
  cutover serve --dns-listen 127.0.0.1:5353 --dns-zone example.test.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "", "also serve the API on this TCP address (needs a token: --token-file or "+EnvToken+")")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", daemon.DefaultShutdownTimeout, "on SIGTERM/SIGINT, how long running deploys may finish before they are cancelled and undone")
	f.StringVar(&o.dnsListen, "dns-listen", "", "run the built-in DNS server (router: dns) on this address, UDP and TCP (e.g. 127.0.0.1:5353); needs --dns-zone")
	f.StringVar(&o.dnsZone, "dns-zone", "", "the zone the built-in DNS server is authoritative for (e.g. example.test.)")
	f.DurationVar(&o.dnsTTL, "dns-ttl", dns.DefaultTTL, "TTL of the built-in DNS server's answers, whole seconds; the old color keeps serving max(60s, 3 x TTL) after a switch")
	return cmd
}

func runServe(cmd *cobra.Command, g *globals, o *serveOptions) error {
	ctx := cmd.Context()
	token, err := g.token()
	if err != nil {
		return err
	}
	if o.listen != "" && token == "" {
		return usageError{fmt.Errorf("--listen %s: serving the API on TCP needs a bearer token: --token-file FILE or %s", o.listen, EnvToken)}
	}
	if o.shutdownTimeout <= 0 {
		return usageError{fmt.Errorf("--shutdown-timeout %s: must be positive", o.shutdownTimeout)}
	}
	dnsCfg, err := o.dnsConfig()
	if err != nil {
		return usageError{err}
	}
	s, err := g.openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	eng, err := docker.New(ctx, docker.WithPingTimeout(10*time.Second))
	if err != nil {
		return envError{err}
	}
	defer eng.Close()
	srv, err := daemon.New(daemon.Config{Store: s, Engine: eng, Listen: o.listen, Token: token, DNS: dnsCfg,
		ShutdownTimeout: o.shutdownTimeout, Version: Version, Logger: g.serveLogger(cmd)})
	if err != nil {
		return usageError{err}
	}
	if err := srv.Start(ctx); err != nil {
		if errors.Is(err, daemon.ErrAlreadyRunning) {
			return envError{err}
		}
		return envError{fmt.Errorf("starting the daemon: %w", err)}
	}
	msg := "cutover daemon listening on " + srv.SocketPath()
	if addr := srv.TCPAddr(); addr != "" {
		msg += " (and " + addr + ")"
	}
	if addr := srv.DNSAddr(); addr != "" {
		msg += "; dns server for " + dnsCfg.Zone + " on " + addr
	}
	fmt.Fprintln(g.stdout, msg)
	return srv.Run(ctx)
}

// serveLogger logs at info unless --log-level says otherwise: a daemon's
// log is where its requests and deploys are recorded.
func (g *globals) serveLogger(cmd *cobra.Command) *slog.Logger {
	level := slog.LevelInfo
	if cmd.Flags().Changed("log-level") {
		if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
			level = slog.LevelInfo
		}
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}
