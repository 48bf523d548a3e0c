package compose

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	mdns "github.com/miekg/dns"
)

// NginxSettings is the stack-level x-cutover.nginx block: how router nginx
// reaches the nginx that runs on the host (see docs/routers/nginx.md).
type NginxSettings struct {
	// Dir is the directory nginx includes at http level; a relative path
	// is relative to the project directory. Required under router nginx.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Test and Reload are argv lists (default nginx -t, nginx -s reload).
	Test   []string `yaml:"test,omitempty" json:"test,omitempty"`
	Reload []string `yaml:"reload,omitempty" json:"reload,omitempty"`
	// PIDFile is the nginx master's pid file, to watch old workers drain.
	PIDFile string `yaml:"pid_file,omitempty" json:"pid_file,omitempty"`
	// ErrorLog is quoted in errors when nginx did not take a reload.
	ErrorLog string `yaml:"error_log,omitempty" json:"error_log,omitempty"`
	// ReloadNotice is how long before a reload the generated servers close
	// keep-alive connections (default 1s; 0s: no notice).
	ReloadNotice *types.Duration `yaml:"reload_notice,omitempty" json:"reload_notice,omitempty"`
	// VerifyTimeout bounds the wait for nginx to serve a new file (default 10s).
	VerifyTimeout *types.Duration `yaml:"verify_timeout,omitempty" json:"verify_timeout,omitempty"`
	// Settle is the drain wait when the workers cannot be watched (default 2s).
	Settle *types.Duration `yaml:"settle,omitempty" json:"settle,omitempty"`
	// ProbeHost is where cutover reaches nginx (default: each route's
	// listen address, 0.0.0.0 and :: as loopback).
	ProbeHost string `yaml:"probe_host,omitempty" json:"probe_host,omitempty"`
}

func nginxKeys() []string {
	return []string{"dir", "test", "reload", "pid_file", "error_log", "reload_notice", "verify_timeout", "settle", "probe_host"}
}

// DirIn is Dir, absolute: a relative Dir is taken relative to workingDir.
func (n NginxSettings) DirIn(workingDir string) string {
	if n.Dir == "" || filepath.IsAbs(n.Dir) {
		return n.Dir
	}
	return filepath.Join(workingDir, n.Dir)
}

func (n NginxSettings) validate(path string) error {
	for name, argv := range map[string][]string{"test": n.Test, "reload": n.Reload} {
		if n := len(argv); n > 0 && strings.TrimSpace(argv[0]) == "" {
			return fmt.Errorf("%s.%s: %q has no program (want e.g. [nginx, -t])", path, name, argv)
		}
	}
	if d := n.ReloadNotice; d != nil && *d < 0 {
		return fmt.Errorf("%s.reload_notice: must not be negative, got %s (0s: no notice)", path, time.Duration(*d))
	}
	for name, d := range map[string]*types.Duration{"verify_timeout": n.VerifyTimeout, "settle": n.Settle} {
		if d != nil && *d <= 0 {
			return fmt.Errorf("%s.%s: must be positive, got %s", path, name, time.Duration(*d))
		}
	}
	if h := n.ProbeHost; h != "" {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err != nil && !isHostName(h) {
			return fmt.Errorf("%s.probe_host: %q is not an IP address or host name (no port: each route's listen port is used)", path, h)
		}
	}
	return nil
}

// DNS modes of router dns.
const (
	DNSModeBuiltin = "builtin"
	DNSModeRFC2136 = "rfc2136"
)

// DNSSettings is the stack-level x-cutover.dns block: which DNS server
// router dns drives and how (see docs/routers/dns.md).
type DNSSettings struct {
	// Mode is builtin (cutover serve's DNS server, the default) or rfc2136.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Zone is the zone the route hosts live in. Required for rfc2136;
	// builtin: must be the daemon's --dns-zone when set.
	Zone string `yaml:"zone,omitempty" json:"zone,omitempty"`
	// TTL of answers and records, whole seconds (default 5s). builtin:
	// must be the daemon's --dns-ttl when set.
	TTL *types.Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// Server is the rfc2136 primary's host:port (port 53 when absent).
	Server string `yaml:"server,omitempty" json:"server,omitempty"`
	// KeyName, KeyAlgorithm: the TSIG key as the server knows it.
	KeyName      string `yaml:"key_name,omitempty" json:"key_name,omitempty"`
	KeyAlgorithm string `yaml:"key_algorithm,omitempty" json:"key_algorithm,omitempty"`
	// KeySecretEnv names the environment variable holding the base64
	// secret; KeyFile is a BIND key file. Set one (rfc2136).
	KeySecretEnv string `yaml:"key_secret_env,omitempty" json:"key_secret_env,omitempty"`
	KeyFile      string `yaml:"key_file,omitempty" json:"key_file,omitempty"`
	// VerifyTimeout bounds the wait for the server to answer a switch
	// (rfc2136, default 10s).
	VerifyTimeout *types.Duration `yaml:"verify_timeout,omitempty" json:"verify_timeout,omitempty"`
	// KeepOld replaces the 60s floor of the keep-old window: after a
	// switch the color traffic left keeps serving max(keep_old, 3 × ttl)
	// before it may stop. Default: max(60s, 3 × ttl).
	KeepOld *types.Duration `yaml:"keep_old,omitempty" json:"keep_old,omitempty"`
}

func dnsKeys() []string {
	return []string{"mode", "zone", "ttl", "server", "key_name", "key_algorithm", "key_secret_env", "key_file", "verify_timeout", "keep_old"}
}

// DefaultDNSTTL is the TTL of dns answers when x-cutover.dns.ttl is absent.
const DefaultDNSTTL = 5 * time.Second

// EffectiveMode is Mode with the default.
func (d DNSSettings) EffectiveMode() string {
	if d.Mode == "" {
		return DNSModeBuiltin
	}
	return d.Mode
}

// KeyFileIn is KeyFile, absolute: relative to workingDir when relative.
func (d DNSSettings) KeyFileIn(workingDir string) string {
	if d.KeyFile == "" || filepath.IsAbs(d.KeyFile) {
		return d.KeyFile
	}
	return filepath.Join(workingDir, d.KeyFile)
}

func (d DNSSettings) validate(path string) error {
	mode := d.EffectiveMode()
	if mode != DNSModeBuiltin && mode != DNSModeRFC2136 {
		return fmt.Errorf("%s.mode: unknown mode %q (known: builtin, rfc2136)", path, d.Mode)
	}
	if d.Zone != "" {
		if _, err := canonicalZone(d.Zone); err != nil {
			return fmt.Errorf("%s.zone: %w", path, err)
		}
	}
	if t := d.TTL; t != nil {
		ttl := time.Duration(*t)
		if ttl < time.Second || ttl%time.Second != 0 || ttl > 24*time.Hour {
			return fmt.Errorf("%s.ttl: %s: want whole seconds between 1s and 24h", path, ttl)
		}
	}
	for name, v := range map[string]*types.Duration{"verify_timeout": d.VerifyTimeout, "keep_old": d.KeepOld} {
		if v != nil && *v <= 0 {
			return fmt.Errorf("%s.%s: must be positive, got %s", path, name, time.Duration(*v))
		}
	}
	if mode == DNSModeBuiltin {
		for name, set := range map[string]bool{"server": d.Server != "", "key_name": d.KeyName != "", "key_algorithm": d.KeyAlgorithm != "",
			"key_secret_env": d.KeySecretEnv != "", "key_file": d.KeyFile != "", "verify_timeout": d.VerifyTimeout != nil} {
			if set {
				return fmt.Errorf("%s.%s: only with mode: rfc2136 (the built-in server of cutover serve needs no %s)", path, name, name)
			}
		}
		return nil
	}
	switch {
	case d.Zone == "":
		return fmt.Errorf("%s.zone: mode rfc2136 needs the zone the server is authoritative for (e.g. example.test.)", path)
	case d.Server == "":
		return fmt.Errorf("%s.server: mode rfc2136 needs the primary server's address (e.g. 192.0.2.53:53)", path)
	case (d.KeySecretEnv == "") == (d.KeyFile == ""):
		return fmt.Errorf("%s: mode rfc2136 needs the TSIG key from exactly one of key_secret_env (an environment variable with the base64 secret) and key_file (a tsig-keygen file)", path)
	case d.KeySecretEnv != "" && d.KeyName == "":
		return fmt.Errorf("%s.key_name: the TSIG key's name as the server knows it (e.g. cutover.) is needed with key_secret_env", path)
	}
	if d.KeyName != "" && !isDomainName(d.KeyName) {
		return fmt.Errorf("%s.key_name: %q is not a domain name", path, d.KeyName)
	}
	if a := strings.ToLower(strings.TrimSuffix(d.KeyAlgorithm, ".")); a != "" {
		switch a {
		case "hmac-sha256", "hmac-sha224", "hmac-sha384", "hmac-sha512", "hmac-sha1":
		default:
			return fmt.Errorf("%s.key_algorithm: %q: want hmac-sha256, hmac-sha224, hmac-sha384, hmac-sha512 or hmac-sha1", path, d.KeyAlgorithm)
		}
	}
	return nil
}

// validateAddresses checks route.addresses: blue and green, each an IP
// address clients can reach, different from each other.
func validateAddresses(path string, addrs map[string]string) error {
	if addrs == nil {
		return nil
	}
	var seen []netip.Addr
	for _, color := range []string{"blue", "green"} {
		raw, ok := addrs[color]
		if !ok || raw == "" {
			return fmt.Errorf("%s.%s: missing: give the host address %s publishes the service's ports on (e.g. 127.0.0.11 and 127.0.0.12)", path, color, color)
		}
		a, err := netip.ParseAddr(raw)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("%s.%s: %q is not an IP address", path, color, raw)
		}
		if a.IsUnspecified() {
			return fmt.Errorf("%s.%s: %s is not an address clients can reach; give each color an address of its own", path, color, a)
		}
		for _, other := range seen {
			if other == a.Unmap() {
				return fmt.Errorf("%s: blue and green are both %s: each color needs an address of its own, so that one DNS answer is one color", path, a)
			}
		}
		seen = append(seen, a.Unmap())
	}
	for k := range addrs {
		if k != "blue" && k != "green" {
			return fmt.Errorf("%s.%s: unknown color (known: blue, green)", path, k)
		}
	}
	return nil
}

// canonicalZone checks a zone name and returns it lower case and fully
// qualified.
func canonicalZone(zone string) (string, error) {
	if !isDomainName(zone) {
		return "", fmt.Errorf("%q is not a domain name", zone)
	}
	z := mdns.CanonicalName(zone)
	if z == "." {
		return "", fmt.Errorf("the root zone cannot be used")
	}
	return z, nil
}

// inZone reports whether host is zone or a name below it.
func inZone(host, zone string) bool {
	return mdns.IsSubDomain(mdns.CanonicalName(zone), mdns.CanonicalName(host))
}

func isDomainName(s string) bool {
	_, ok := mdns.IsDomainName(s)
	return ok && s != "" && !strings.ContainsAny(s, " /:@")
}

// isHostName reports whether s can be a host name (for probe_host).
func isHostName(s string) bool {
	return isDomainName(s) && net.ParseIP(s) == nil && !strings.Contains(s, "..")
}
