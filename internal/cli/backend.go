package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// backend runs what a command asks for: in this process (local) or in a
// cutover daemon (remote). Commands print the same output and exit with
// the same code either way; progress goes to the Observer the backend
// was made with.
type backend interface {
	// Deploy runs a release and, with auto_confirm, waits until it
	// confirmed itself or rolled back.
	Deploy(ctx context.Context, req deploy.Request) (api.Result, error)
	RollbackTo(ctx context.Context, stack string, n int, req deploy.Request) (api.Result, error)
	Rollback(ctx context.Context, stack string, o deploy.Overrides) (store.Release, error)
	Confirm(ctx context.Context, stack string) (store.Release, error)
	Promote(ctx context.Context, stack string) (store.Release, error)
	Abort(ctx context.Context, stack string, wait time.Duration) (store.Release, error)
	Unlock(ctx context.Context, stack string, force bool) (store.Lock, error)
	Down(ctx context.Context, stack string, volumes bool) (deploy.DownResult, error)
	Status(ctx context.Context, stack string) (api.StackStatus, error)
	Stacks(ctx context.Context) ([]api.StackStatus, error)
	History(ctx context.Context, stack string) ([]store.Release, error)
	// Check compares running digests with the registries' and, with
	// opts.Apply, redeploys what drifted.
	Check(ctx context.Context, stack string, opts daemon.CheckOptions) (api.CheckReport, error)
	Close() error
}

// socketDialTimeout bounds the check for a daemon on the state dir's socket.
const socketDialTimeout = 200 * time.Millisecond

// backend picks where commands run: the daemon named by --server or
// CUTOVER_SERVER; else the daemon answering on the state dir's socket;
// else this process.
func (g *globals) backend(ctx context.Context, obs deploy.Observer) (backend, error) {
	if server := g.serverURL(); server != "" {
		token, err := g.token()
		if err != nil {
			return nil, err
		}
		return newRemote(server, token, obs)
	}
	sock := daemon.SocketPath(g.resolveStateDir())
	answers, err := daemon.Probe(ctx, sock, socketDialTimeout)
	if err != nil {
		return nil, envError{err}
	}
	if answers {
		return newUnixRemote(sock, obs), nil
	}
	return newLocal(g, obs)
}

// serverURL is --server, else CUTOVER_SERVER.
func (g *globals) serverURL() string {
	if g.server != "" {
		return g.server
	}
	return strings.TrimSpace(os.Getenv(EnvServer))
}

// token is the bearer token: the content of --token-file, else
// CUTOVER_TOKEN; "" when neither is set.
func (g *globals) token() (string, error) {
	if g.tokenFile != "" {
		data, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return "", usageError{fmt.Errorf("--token-file: %w", err)}
		}
		token := strings.TrimSpace(string(data))
		if token == "" {
			return "", usageError{fmt.Errorf("--token-file %s is empty", g.tokenFile)}
		}
		return token, nil
	}
	return strings.TrimSpace(os.Getenv(EnvToken)), nil
}
