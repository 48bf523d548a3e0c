package registry

import (
	"fmt"
	"net"
	"strings"

	"github.com/distribution/reference"
)

// dockerHubAPI is where Docker Hub's registry API answers; references say
// "docker.io" (or nothing) for it.
const dockerHubAPI = "registry-1.docker.io"

// Ref is an image reference resolved to the registry API that serves it.
type Ref struct {
	// Host is the registry as the reference names it ("docker.io",
	// "ghcr.io", "127.0.0.1:5000"); credentials are looked up under it.
	Host string
	// Endpoint is the scheme and host the registry API answers on:
	// "https://registry-1.docker.io", "http://127.0.0.1:5000".
	Endpoint string
	// Repo is the repository path inside the registry ("library/nginx").
	Repo string
	// Tag is the tag ("latest" when the reference has neither tag nor digest).
	Tag string
	// Digest is the digest the reference pins, if any.
	Digest string
}

// ParseRef parses an image reference the way docker does ("nginx" is
// docker.io/library/nginx:latest). Loopback registries (127.0.0.0/8,
// localhost, ::1) are reached over plain HTTP, every other over HTTPS.
func ParseRef(s string) (Ref, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	r := Ref{Host: reference.Domain(named), Repo: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	apiHost := r.Host
	if apiHost == "docker.io" {
		apiHost = dockerHubAPI
	}
	scheme := "https"
	if isLoopback(r.Host) {
		scheme = "http"
	}
	r.Endpoint = scheme + "://" + apiHost
	return r, nil
}

// Name is the repository as a user writes it, for messages:
// "127.0.0.1:5000/web", "docker.io/library/nginx".
func (r Ref) Name() string { return r.Host + "/" + r.Repo }

// String is Name with the tag (or digest).
func (r Ref) String() string {
	if r.Tag != "" {
		return r.Name() + ":" + r.Tag
	}
	return r.Name() + "@" + r.Digest
}

// isLoopback reports whether a registry host[:port] is on this machine.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ShortDigest is a digest as messages show it: the algorithm and the first
// 12 hex digits (sha256:0123456789ab); other strings as they are.
func ShortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}
