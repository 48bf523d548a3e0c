// Package docker implements engine.Engine over the Docker Engine API
// (github.com/docker/docker/client). It works with engines from API 1.41
// (Docker 20.10) on, negotiating the API version at construction.
package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/registryauth"
)

// Engine is an engine.Engine backed by a Docker Engine API client.
// It is safe for concurrent use.
type Engine struct {
	cli *client.Client
	// dockerConfig is the docker client config.json used for registry
	// credentials; "" means registryauth.DefaultPath, re-read on each use.
	dockerConfig string
}

var _ engine.Engine = (*Engine)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	clientOpts   []client.Opt
	dockerConfig string
	pingTimeout  time.Duration
}

// WithClientOptions adds Docker client options, applied after
// client.FromEnv and client.WithAPIVersionNegotiation (so client.WithHost
// overrides DOCKER_HOST, for instance).
func WithClientOptions(opts ...client.Opt) Option {
	return func(o *options) { o.clientOpts = append(o.clientOpts, opts...) }
}

// WithDockerConfig makes the engine read registry credentials from the
// given config.json instead of $DOCKER_CONFIG/config.json or
// ~/.docker/config.json.
func WithDockerConfig(path string) Option {
	return func(o *options) { o.dockerConfig = path }
}

// WithPingTimeout bounds the initial ping New makes (default 15s; the
// context passed to New applies too).
func WithPingTimeout(d time.Duration) Option {
	return func(o *options) { o.pingTimeout = d }
}

// New connects to the Docker engine configured by the environment
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION) and
// pings it, so that the API version is negotiated before first use.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	o := options{pingTimeout: 15 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	copts := append([]client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}, o.clientOpts...)
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client: %w", err)
	}
	pctx := ctx
	if o.pingTimeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, o.pingTimeout)
		defer cancel()
	}
	ping, err := cli.Ping(pctx)
	if err != nil {
		host := cli.DaemonHost()
		_ = cli.Close()
		return nil, fmt.Errorf("cannot reach the Docker engine at %s: %w", host, err)
	}
	cli.NegotiateAPIVersionPing(ping)
	return &Engine{cli: cli, dockerConfig: o.dockerConfig}, nil
}

// Client returns the underlying Docker API client, for operations the
// engine.Engine interface does not cover.
func (e *Engine) Client() *client.Client { return e.cli }

// Close releases the client's resources.
func (e *Engine) Close() error { return e.cli.Close() }

// Ping reports the engine's version and the negotiated API version.
func (e *Engine) Ping(ctx context.Context) (engine.Info, error) {
	v, err := e.cli.ServerVersion(ctx)
	if err != nil {
		return engine.Info{}, wrap(err, "querying the Docker engine at %s", e.cli.DaemonHost())
	}
	return engine.Info{ServerVersion: v.Version, APIVersion: e.cli.ClientVersion()}, nil
}

// credentials loads the docker client config for registry credentials.
func (e *Engine) credentials() (*registryauth.Config, error) {
	if e.dockerConfig != "" {
		return registryauth.Load(e.dockerConfig)
	}
	return registryauth.LoadDefault()
}

// notFoundError keeps Docker's error (and its message) while also matching
// engine.ErrNotFound.
type notFoundError struct{ err error }

func (e notFoundError) Error() string   { return e.err.Error() }
func (e notFoundError) Unwrap() []error { return []error{e.err, engine.ErrNotFound} }

// wrap adds context to an engine error; not-found errors additionally wrap
// engine.ErrNotFound.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) && !errors.Is(err, engine.ErrNotFound) {
		err = notFoundError{err}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// seconds converts a duration to whole seconds for the Engine API, rounding
// up so a positive duration never becomes "kill at once"; negative means
// "no timeout" (-1).
func seconds(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return int((d + time.Second - 1) / time.Second)
}

// parseTime parses an Engine API timestamp; the zero time for "" or
// Docker's "0001-01-01T00:00:00Z".
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
