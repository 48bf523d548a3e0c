// Package registry asks container registries for the current digest of an
// image tag without pulling it, for smart redeploy: a service whose running
// digest differs from its tag's digest in the registry has drifted.
//
// It speaks the registry HTTP API v2 (CNCF distribution, Docker Hub, GHCR
// and the like): a HEAD (or GET) of the tag's manifest, with basic or
// bearer-token authentication and credentials from the user's docker
// config. Every request goes through go-retryablehttp, which retries
// connection errors and 5xx answers, never 401, 404 or 429.
package registry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/registryauth"
	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/hashicorp/go-retryablehttp"
)

// Credentials finds the credentials for a registry host ("docker.io",
// "127.0.0.1:5000"). *registryauth.Config satisfies it.
type Credentials interface {
	ForRegistry(ctx context.Context, host string) (dockerregistry.AuthConfig, error)
}

// Defaults for Options fields left zero.
const (
	DefaultRetryMax     = 2
	DefaultRetryWaitMin = 250 * time.Millisecond
	DefaultRetryWaitMax = 2 * time.Second
	DefaultTimeout      = 15 * time.Second
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// Credentials: nil reads the user's docker config
	// (registryauth.LoadDefault) when New is called.
	Credentials Credentials
	// Logger receives a debug line per retry; nil uses slog.Default().
	Logger *slog.Logger
	// RetryMax is how many times a request is retried after a connection
	// error or a 5xx answer: 0 means DefaultRetryMax, negative never retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential wait between
	// retries (defaults 250ms and 2s).
	RetryWaitMin, RetryWaitMax time.Duration
	// Timeout bounds each attempt (default 15s).
	Timeout time.Duration
	// Transport sends the requests; nil uses a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock for token expiry and Retry-After dates.
	Now func() time.Time
}

// Client asks registries for digests. It is safe for concurrent use and
// caches bearer tokens (until they expire) and basic credentials per
// repository, so a periodic checker does not fetch a token every time.
type Client struct {
	http  *retryablehttp.Client
	creds Credentials
	now   func() time.Time

	mu    sync.Mutex
	authz map[string]cachedAuth // key: host + "/" + repo
}

type cachedAuth struct {
	header  string
	expires time.Time // zero: does not expire
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Credentials == nil {
		cfg, err := registryauth.LoadDefault()
		if err != nil {
			return nil, fmt.Errorf("registry client: %w", err)
		}
		opts.Credentials = cfg
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch {
	case opts.RetryMax == 0:
		opts.RetryMax = DefaultRetryMax
	case opts.RetryMax < 0:
		opts.RetryMax = 0
	}
	if opts.RetryWaitMin <= 0 {
		opts.RetryWaitMin = DefaultRetryWaitMin
	}
	if opts.RetryWaitMax <= 0 {
		opts.RetryWaitMax = DefaultRetryWaitMax
	}
	if opts.RetryWaitMax < opts.RetryWaitMin {
		opts.RetryWaitMax = opts.RetryWaitMin
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Client{
		http:  newHTTP(opts, opts.Logger),
		creds: opts.Credentials,
		now:   opts.Now,
		authz: map[string]cachedAuth{},
	}, nil
}

// Digest returns the digest the registry serves for ref's tag now
// ("sha256:…"), without pulling: the digest `docker pull ref` would record
// in the image's RepoDigests (the manifest list's for multi-platform images).
//
// A reference with a digest and no tag names its content already: Digest
// returns that digest without asking. One with both a tag and a digest is
// looked up by tag, which is what a drift check wants.
//
// Errors wrap ErrNotFound, ErrUnauthorized or ErrRateLimited (as a
// *RateLimitError carrying Retry-After) where they apply.
func (c *Client) Digest(ctx context.Context, ref string) (string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	if r.Tag == "" {
		return r.Digest, nil
	}
	d, err := c.manifestDigest(ctx, r, http.MethodHead)
	if err == errNoDigest {
		d, err = c.manifestDigest(ctx, r, http.MethodGet)
	}
	if err != nil {
		return "", err
	}
	return d, nil
}

func (c *Client) cached(r Ref) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.authz[r.Name()]
	if !ok {
		return ""
	}
	if !a.expires.IsZero() && !c.now().Before(a.expires) {
		delete(c.authz, r.Name())
		return ""
	}
	return a.header
}

func (c *Client) remember(r Ref, header string, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if header == "" {
		delete(c.authz, r.Name())
		return
	}
	a := cachedAuth{header: header}
	if ttl > 0 {
		a.expires = c.now().Add(ttl)
	}
	c.authz[r.Name()] = a
}
