package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/webhook"
	"github.com/cutover/cutover/lb/dns"
)

// serveOptions are serve's flags.
type serveOptions struct {
	listen          string
	shutdownTimeout time.Duration
	dnsListen       string
	dnsZone         string
	dnsTTL          time.Duration

	hooksListen       string
	hooksSecrets      string
	hooksRegistryHost string
	hooksMaxBody      int64
	debounce          time.Duration
	triggerLockWait   time.Duration
	checkInterval     time.Duration
}

// Environment variables holding the hooks' global secrets (also read from
// --hooks-secrets FILE).
const (
	EnvHookDockerHubToken = "CUTOVER_HOOK_DOCKERHUB_TOKEN"
	EnvHookRegistryAuth   = "CUTOVER_HOOK_REGISTRY_AUTH"
	EnvHookGitHubSecret   = "CUTOVER_HOOK_GITHUB_SECRET"
	EnvHookGenericSecret  = "CUTOVER_HOOK_GENERIC_SECRET"
	EnvHookGenericToken   = "CUTOVER_HOOK_GENERIC_TOKEN"
)

// hooksConfig builds the hooks' settings: secrets from the environment,
// else from --hooks-secrets (NAME=value lines, which may also hold the
// variables stacks name in x-cutover.hooks).
func (o *serveOptions) hooksConfig() (daemon.HooksConfig, error) {
	if o.hooksListen == "" {
		const need = ": give --hooks-listen ADDR too (the webhook endpoints' own listener)"
		switch {
		case o.hooksSecrets != "":
			return daemon.HooksConfig{}, errors.New("--hooks-secrets" + need)
		case o.hooksRegistryHost != "":
			return daemon.HooksConfig{}, errors.New("--hooks-registry-host" + need)
		}
		return daemon.HooksConfig{}, nil
	}
	if err := webhook.CheckRegistryHost(o.hooksRegistryHost); err != nil {
		return daemon.HooksConfig{}, fmt.Errorf("--hooks-registry-host %q: %w", o.hooksRegistryHost, err)
	}
	if o.hooksMaxBody <= 0 {
		return daemon.HooksConfig{}, fmt.Errorf("--hooks-max-body %d: must be positive", o.hooksMaxBody)
	}
	file := map[string]string{}
	if o.hooksSecrets != "" {
		var err error
		if file, err = readSecretsFile(o.hooksSecrets); err != nil {
			return daemon.HooksConfig{}, err
		}
	}
	getenv := func(name string) string {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return v
		}
		return file[name]
	}
	return daemon.HooksConfig{
		Listen: o.hooksListen,
		Receiver: webhook.Receiver{
			DockerHubToken:        getenv(EnvHookDockerHubToken),
			RegistryAuthorization: getenv(EnvHookRegistryAuth),
			GitHubSecret:          getenv(EnvHookGitHubSecret),
			GenericSecret:         getenv(EnvHookGenericSecret),
			GenericToken:          getenv(EnvHookGenericToken),
			RegistryHost:          o.hooksRegistryHost,
			MaxBody:               o.hooksMaxBody,
		},
		Getenv: getenv,
	}, nil
}

// readSecretsFile reads NAME=value lines; blank lines and lines starting
// with # are skipped, and a value may be quoted.
func readSecretsFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--hooks-secrets: %w", err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			// The line may hold a secret: name the line, not its text.
			return nil, fmt.Errorf("--hooks-secrets %s: line %d is not NAME=value", path, i+1)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		out[name] = value
	}
	return out, nil
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
		Use:   "serve [--listen ADDR] [--token-file F] [--shutdown-timeout D] [--dns-listen ADDR --dns-zone ZONE [--dns-ttl D]] [--hooks-listen ADDR [--hooks-secrets F]] [--check-interval D]",
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

With --hooks-listen the daemon serves the webhook endpoints on a listener of
their own (never with the API): POST /hooks/dockerhub/<token>, /hooks/registry,
/hooks/github and /hooks/generic. Their global secrets come from
CUTOVER_HOOK_DOCKERHUB_TOKEN, CUTOVER_HOOK_REGISTRY_AUTH,
CUTOVER_HOOK_GITHUB_SECRET, CUTOVER_HOOK_GENERIC_SECRET and
CUTOVER_HOOK_GENERIC_TOKEN, or from --hooks-secrets FILE (NAME=value lines); a
stack may name its own in x-cutover.hooks. A push of a tag a service runs or
watches (x-cutover.watch) releases its stack; pushes for one stack less than
--trigger-debounce apart, or while its release runs, become one release of the newest
image. With --check-interval the daemon also compares running digests with the
registries' that often and redeploys drifted services that have a watch block.

On SIGTERM or SIGINT the daemon stops accepting requests, lets running deploys
finish for up to --shutdown-timeout, then cancels them (a cancelled deploy
undoes itself), closes the proxy's listeners and the DNS server, and removes the
socket.`,
		Example: `  cutover serve
  CUTOVER_TOKEN=$(cat /etc/cutover/token) cutover serve --listen 127.0.0.1:7777
  cutover serve --dns-listen 127.0.0.1:5353 --dns-zone example.test.
  CUTOVER_HOOK_REGISTRY_AUTH=$(cat /etc/cutover/registry-hook) cutover serve --hooks-listen 127.0.0.1:7778`,
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
	f.StringVar(&o.hooksListen, "hooks-listen", "", "serve the webhook endpoints (/hooks/...) on this TCP address, a listener of their own (e.g. 127.0.0.1:7778)")
	f.StringVar(&o.hooksSecrets, "hooks-secrets", "", "file of NAME=value lines holding the hooks' secrets ("+EnvHookRegistryAuth+" …, and variables stacks name in x-cutover.hooks); the environment wins")
	f.StringVar(&o.hooksRegistryHost, "hooks-registry-host", "", "registry host:port to use for registry notifications instead of the host the pusher used (when compose files name the registry differently)")
	f.Int64Var(&o.hooksMaxBody, "hooks-max-body", webhook.DefaultMaxBody, "largest hook body accepted, in bytes (413 above it)")
	f.DurationVar(&o.debounce, "trigger-debounce", daemon.DefaultDebounce, "a stack's release starts once no push for it came for this long (at most 10 windows into a burst)")
	f.DurationVar(&o.triggerLockWait, "trigger-lock-wait", daemon.DefaultTriggerLockWait, "how long a release a push or the periodic check started waits for a deploy of the stack in progress")
	f.DurationVar(&o.checkInterval, "check-interval", 0, "compare running digests with the registries' this often and redeploy drifted services that have x-cutover.watch (0: never)")
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
	if err := o.checkListenAddrs(); err != nil {
		return usageError{err}
	}
	dnsCfg, err := o.dnsConfig()
	if err != nil {
		return usageError{err}
	}
	hooksCfg, err := o.hooksConfig()
	if err != nil {
		return usageError{err}
	}
	if o.debounce < 0 || o.triggerLockWait < 0 || o.checkInterval < 0 {
		return usageError{errors.New("--trigger-debounce, --trigger-lock-wait and --check-interval must not be negative")}
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
		ShutdownTimeout: o.shutdownTimeout, Version: Version, Logger: g.serveLogger(cmd),
		Hooks: hooksCfg, Debounce: daemon.DebounceFlag(o.debounce), TriggerLockWait: o.triggerLockWait, CheckInterval: o.checkInterval})
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
	if addr := srv.HooksAddr(); addr != "" {
		msg += "; hooks on " + addr
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
