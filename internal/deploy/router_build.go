package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/lb/dns"
	"github.com/cutover/cutover/lb/nginx"
)

var _ Router = (*nginx.Router)(nil)

// nginxConfig turns x-cutover.nginx into the nginx router's Config.
func nginxConfig(s compose.NginxSettings, workingDir string) nginx.Config {
	cfg := nginx.Config{Dir: s.DirIn(workingDir), Test: s.Test, Reload: s.Reload, PIDFile: s.PIDFile, ErrorLog: s.ErrorLog}
	if s.ReloadNotice != nil {
		cfg.ReloadNotice = time.Duration(*s.ReloadNotice)
		if cfg.ReloadNotice == 0 {
			cfg.ReloadNotice = -1 // 0s in the file: no notice
		}
	}
	if s.VerifyTimeout != nil {
		cfg.VerifyTimeout = time.Duration(*s.VerifyTimeout)
	}
	if s.Settle != nil {
		cfg.Settle = time.Duration(*s.Settle)
	}
	if s.ProbeHost != "" {
		cfg.ProbeAddr = nginx.ProbeHost(s.ProbeHost)
	}
	return cfg
}

// nginxRouter returns the nginx router for the stack's settings, built on
// first use and shared by every stack with the same settings.
func (m *RouterMux) nginxRouter(sr stackRouting) (*nginx.Router, error) {
	if sr.nginx.Dir == "" {
		return nil, BadInput(fmt.Sprintf("%s.nginx.dir: router nginx needs the directory the host's nginx includes", compose.ExtensionKey))
	}
	s := sr.nginx
	s.Dir = s.DirIn(sr.workingDir)
	key, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.nginx[string(key)]; r != nil {
		return r, nil
	}
	r, err := nginx.New(nginxConfig(s, sr.workingDir), m.log.With("router", "nginx", "dir", s.Dir))
	if err != nil {
		return nil, fmt.Errorf("%s.nginx: %w", compose.ExtensionKey, err)
	}
	m.nginx[string(key)] = r
	return r, nil
}

// updaterConfig turns x-cutover.dns (mode rfc2136) into the updater's
// Config, reading the TSIG key from the environment or its key file.
// Errors name the field.
func updaterConfig(s compose.DNSSettings, workingDir string) (dns.UpdaterConfig, error) {
	where := compose.ExtensionKey + ".dns"
	cfg := dns.UpdaterConfig{Server: s.Server, Zone: s.Zone, KeyName: s.KeyName, Algorithm: s.KeyAlgorithm}
	if s.TTL != nil {
		cfg.TTL = time.Duration(*s.TTL)
	}
	if s.VerifyTimeout != nil {
		cfg.VerifyTimeout = time.Duration(*s.VerifyTimeout)
	}
	switch {
	case s.KeyFile != "":
		k, err := dns.ReadKeyFile(s.KeyFileIn(workingDir), s.KeyName)
		if err != nil {
			return cfg, BadInput(fmt.Sprintf("%s.key_file: %v", where, err))
		}
		cfg.KeyName, cfg.Secret = k.Name, k.Secret
		if cfg.Algorithm == "" {
			cfg.Algorithm = k.Algorithm
		}
	case s.KeySecretEnv != "":
		cfg.Secret = os.Getenv(s.KeySecretEnv)
		if cfg.Secret == "" {
			return cfg, BadInput(fmt.Sprintf("%s.key_secret_env: $%s is empty or unset in the environment of the process that runs the deploy (pid %d; the daemon's, when cutover serve runs it)",
				where, s.KeySecretEnv, os.Getpid()))
		}
	}
	return cfg, nil
}

// updater returns the RFC 2136 updater for the stack's settings, built on
// first use with the routes it had in earlier runs (from the store).
func (m *RouterMux) updater(ctx context.Context, sr stackRouting) (*PersistentDNS, error) {
	cfg, err := updaterConfig(sr.dns, sr.workingDir)
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if u := m.updaters[string(key)]; u != nil {
		return u, nil
	}
	u, err := dns.NewUpdater(cfg, m.log.With("router", "dns", "mode", "rfc2136"))
	if err != nil {
		return nil, BadInput(fmt.Sprintf("%s.dns: %v", compose.ExtensionKey, err))
	}
	backend := "rfc2136 " + withPort53(cfg.Server) + " " + u.Zone()
	p, err := NewPersistentDNS(ctx, u, m.store, backend, m.log)
	if err != nil {
		return nil, err
	}
	m.updaters[string(key)] = p
	return p, nil
}

// withPort53 is server as host:port, port 53 when it has none.
func withPort53(server string) string {
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server
	}
	return net.JoinHostPort(server, "53")
}
