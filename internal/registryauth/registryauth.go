// Package registryauth resolves registry credentials for image references
// from the user's Docker client configuration (~/.docker/config.json), the
// way the docker CLI does, without depending on github.com/docker/cli.
//
// It understands the "auths" section (base64 "auth", username/password,
// identity and registry tokens), "credsStore" and "credHelpers" (which run
// docker-credential-<name> helpers).
package registryauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// DockerHubServer is the key under which Docker Hub credentials are stored
// in config.json and the server URL passed to credential helpers for it.
const DockerHubServer = "https://index.docker.io/v1/"

// dockerHubHost is the registry domain reference.Domain reports for Docker Hub.
const dockerHubHost = "docker.io"

// Config is a parsed Docker client configuration, reduced to what matters
// for registry credentials. The zero value (and a nil *Config) holds no
// credentials.
type Config struct {
	// Path is the file the configuration was read from ("" if none).
	Path        string
	Auths       map[string]AuthEntry
	CredsStore  string
	CredHelpers map[string]string
}

// AuthEntry is one entry of the "auths" section of config.json.
type AuthEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
}

type fileFormat struct {
	Auths       map[string]AuthEntry `json:"auths"`
	CredsStore  string               `json:"credsStore"`
	CredHelpers map[string]string    `json:"credHelpers"`
}

// DefaultPath returns $DOCKER_CONFIG/config.json when DOCKER_CONFIG is set,
// else ~/.docker/config.json. It returns "" when no home directory can be
// determined.
func DefaultPath() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		u, uerr := user.Current()
		if uerr != nil || u.HomeDir == "" {
			return ""
		}
		home = u.HomeDir
	}
	return filepath.Join(home, ".docker", "config.json")
}

// LoadDefault loads the configuration from DefaultPath. A missing file (or
// no home directory) yields an empty configuration, not an error.
func LoadDefault() (*Config, error) {
	p := DefaultPath()
	if p == "" {
		return &Config{}, nil
	}
	return Load(p)
}

// Load reads a Docker client config.json. A missing file yields an empty
// configuration, not an error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading docker config: %w", err)
	}
	return parse(path, data)
}

func parse(path string, data []byte) (*Config, error) {
	c := &Config{Path: path}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var f fileFormat
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parsing docker config %s: %w", path, err)
	}
	c.Auths = f.Auths
	c.CredsStore = f.CredsStore
	c.CredHelpers = f.CredHelpers
	return c, nil
}

// RegistryHost returns the registry host an image reference points at,
// e.g. "docker.io" for "nginx", "ghcr.io" for "ghcr.io/o/app:1" and
// "localhost:5000" for "localhost:5000/app".
func RegistryHost(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	return reference.Domain(named), nil
}

// ServerAddress returns the address credentials for registry host are
// stored under: DockerHubServer for Docker Hub, the host itself otherwise.
func ServerAddress(host string) string {
	if isDockerHub(normalizeKey(host)) {
		return DockerHubServer
	}
	return normalizeKey(host)
}

// Resolve returns the credentials for the registry that image reference
// ref points at. It returns an empty AuthConfig (with ServerAddress set)
// and no error when no credentials are configured.
func (c *Config) Resolve(ctx context.Context, ref string) (registry.AuthConfig, error) {
	host, err := RegistryHost(ref)
	if err != nil {
		return registry.AuthConfig{}, err
	}
	return c.ForRegistry(ctx, host)
}

// ForRegistry returns the credentials for a registry host ("ghcr.io",
// "localhost:5000", "docker.io"; a config key with scheme and path such as
// "https://index.docker.io/v1/" is accepted too). Credential helpers
// ("credHelpers" for the host, else "credsStore") take precedence over
// inline "auths" entries; a helper that has no credentials for the host
// falls back to the inline entry.
func (c *Config) ForRegistry(ctx context.Context, host string) (registry.AuthConfig, error) {
	key := normalizeKey(host)
	server := ServerAddress(key)
	empty := registry.AuthConfig{ServerAddress: server}
	if c == nil {
		return empty, nil
	}

	entryKey, entry, hasEntry := c.findAuth(key)

	if helper := c.helperFor(key); helper != "" {
		// Ask for the canonical server address first, then for the key
		// as it is spelled in "auths" (helpers may store either).
		candidates := []string{server}
		if hasEntry && entryKey != server {
			candidates = append(candidates, entryKey)
		}
		for _, addr := range candidates {
			ac, found, err := runHelper(ctx, helper, addr)
			if err != nil {
				return empty, err
			}
			if found {
				ac.ServerAddress = server
				return ac, nil
			}
		}
	}

	if !hasEntry {
		return empty, nil
	}
	ac, err := entry.authConfig(server)
	if err != nil {
		return empty, fmt.Errorf("docker config %s, auths[%q]: %w", c.Path, entryKey, err)
	}
	return ac, nil
}

// All returns credentials for every registry the configuration mentions in
// "auths" or "credHelpers", keyed by server address (as the Engine API's
// X-Registry-Config build header expects). Registries whose lookup fails
// are left out and their errors joined into the returned error, so callers
// may use the partial result.
func (c *Config) All(ctx context.Context) (map[string]registry.AuthConfig, error) {
	out := map[string]registry.AuthConfig{}
	if c == nil {
		return out, nil
	}
	hosts := map[string]bool{}
	for k := range c.Auths {
		hosts[normalizeKey(k)] = true
	}
	for k := range c.CredHelpers {
		hosts[normalizeKey(k)] = true
	}
	keys := make([]string, 0, len(hosts))
	for h := range hosts {
		keys = append(keys, h)
	}
	sort.Strings(keys)
	var errs []error
	for _, h := range keys {
		ac, err := c.ForRegistry(ctx, h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if IsEmpty(ac) {
			continue
		}
		out[ServerAddress(h)] = ac
	}
	return out, errors.Join(errs...)
}

// IsEmpty reports whether ac carries no credentials at all.
func IsEmpty(ac registry.AuthConfig) bool {
	return ac.Username == "" && ac.Password == "" && ac.Auth == "" &&
		ac.IdentityToken == "" && ac.RegistryToken == ""
}

// Encode returns the X-Registry-Auth header value for ac (base64url JSON).
func Encode(ac registry.AuthConfig) (string, error) {
	s, err := registry.EncodeAuthConfig(ac)
	if err != nil {
		return "", fmt.Errorf("encoding registry credentials: %w", err)
	}
	return s, nil
}

// helperFor returns the credential helper name for a normalized host, or "".
func (c *Config) helperFor(key string) string {
	if h := c.CredHelpers[key]; h != "" {
		return h
	}
	keys := make([]string, 0, len(c.CredHelpers))
	for k := range c.CredHelpers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if h := c.CredHelpers[k]; h != "" && sameRegistry(normalizeKey(k), key) {
			return h
		}
	}
	return c.CredsStore
}

// findAuth returns the "auths" entry for a normalized host. An exact key
// match wins over one that only matches after normalization.
func (c *Config) findAuth(key string) (string, AuthEntry, bool) {
	if isDockerHub(key) {
		if e, ok := c.Auths[DockerHubServer]; ok {
			return DockerHubServer, e, true
		}
	} else if e, ok := c.Auths[key]; ok {
		return key, e, true
	}
	// Deterministic order when several spellings of the same registry exist.
	keys := make([]string, 0, len(c.Auths))
	for k := range c.Auths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sameRegistry(normalizeKey(k), key) {
			return k, c.Auths[k], true
		}
	}
	return "", AuthEntry{}, false
}

func (e AuthEntry) authConfig(server string) (registry.AuthConfig, error) {
	ac := registry.AuthConfig{
		Username:      e.Username,
		Password:      e.Password,
		IdentityToken: e.IdentityToken,
		RegistryToken: e.RegistryToken,
		ServerAddress: server,
	}
	if e.Auth != "" {
		user, pass, err := decodeAuth(e.Auth)
		if err != nil {
			return registry.AuthConfig{}, err
		}
		ac.Username, ac.Password = user, pass
	}
	return ac, nil
}

func decodeAuth(s string) (string, string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		// Some tools write unpadded base64.
		var err2 error
		raw, err2 = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(s), "="))
		if err2 != nil {
			return "", "", fmt.Errorf("invalid base64 in auth field: %w", err)
		}
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New(`invalid auth field: expected base64 of "user:password"`)
	}
	return user, strings.Trim(pass, "\x00"), nil
}

// normalizeKey turns a config key or host ("https://ghcr.io/v2/",
// "http://localhost:5000", "GHCR.io") into a bare lower-case host[:port].
func normalizeKey(k string) string {
	k = strings.TrimSpace(k)
	if i := strings.Index(k, "://"); i >= 0 {
		k = k[i+3:]
	}
	if i := strings.IndexByte(k, '/'); i >= 0 {
		k = k[:i]
	}
	return strings.ToLower(k)
}

func isDockerHub(host string) bool {
	switch host {
	case dockerHubHost, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return true
	}
	return false
}

func sameRegistry(a, b string) bool {
	if a == b {
		return true
	}
	return isDockerHub(a) && isDockerHub(b)
}

// helperResponse is what docker-credential-* helpers print for "get".
type helperResponse struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// errCredentialsNotFound is the message helpers print when they hold no
// credentials for a server (docker-credential-helpers' credentials package).
const errCredentialsNotFound = "credentials not found in native keychain"

// runHelper runs docker-credential-<helper> get for serverURL. found is
// false when the helper has no credentials for it.
func runHelper(ctx context.Context, helper, serverURL string) (ac registry.AuthConfig, found bool, err error) {
	prog := "docker-credential-" + helper
	cmd := exec.CommandContext(ctx, prog, "get")
	cmd.Stdin = strings.NewReader(serverURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		out := strings.TrimSpace(stdout.String())
		if out == "" {
			out = strings.TrimSpace(stderr.String())
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && strings.Contains(strings.ToLower(out), errCredentialsNotFound) {
			return registry.AuthConfig{}, false, nil
		}
		if out != "" {
			return registry.AuthConfig{}, false, fmt.Errorf("credential helper %s get %s: %w: %s", prog, serverURL, err, out)
		}
		return registry.AuthConfig{}, false, fmt.Errorf("credential helper %s get %s: %w", prog, serverURL, err)
	}
	var resp helperResponse
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return registry.AuthConfig{}, false, fmt.Errorf("credential helper %s get %s: invalid output: %w", prog, serverURL, err)
	}
	if resp.Username == "" && resp.Secret == "" {
		return registry.AuthConfig{}, false, nil
	}
	if resp.Username == "<token>" {
		ac.IdentityToken = resp.Secret
	} else {
		ac.Username = resp.Username
		ac.Password = resp.Secret
	}
	return ac, true, nil
}
