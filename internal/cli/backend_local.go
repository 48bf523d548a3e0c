package cli

import (
	"context"
	"time"

	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/store"
)

// local runs commands in this process, against the state dir and the
// Docker engine. Its router mux builds the routers that need no daemon
// (nginx, RFC 2136 updates) from each stack's x-cutover settings; plans
// that need the built-in proxy or DNS server are refused (the Deployer says
// to start `cutover serve`).
type local struct {
	obs    deploy.Observer
	ops    *daemon.Ops
	mux    *deploy.RouterMux
	engine *docker.Engine // connected on first use
}

var _ backend = (*local)(nil)

func newLocal(g *globals, obs deploy.Observer) (*local, error) {
	s, err := g.openStore()
	if err != nil {
		return nil, err
	}
	ops := daemon.NewOps(nil, s, g.logger())
	ops.Notify = deploy.NewNotifications(deploy.NotificationsConfig{Logger: g.logger()})
	mux := deploy.NewRouterMux(deploy.MuxConfig{Store: s, Logger: g.logger()})
	ops.Router, ops.Routes = mux, mux.Status
	return &local{obs: obs, ops: ops, mux: mux}, nil
}

// withEngine connects to the Docker engine if not yet done.
func (l *local) withEngine(ctx context.Context) (*daemon.Ops, error) {
	if l.engine == nil {
		eng, err := docker.New(ctx, docker.WithPingTimeout(10*time.Second))
		if err != nil {
			return nil, envError{err}
		}
		l.engine = eng
		l.ops.Engine = eng
	}
	return l.ops, nil
}

func (l *local) Deploy(ctx context.Context, req deploy.Request) (api.Result, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return api.Result{}, err
	}
	res, err := ops.Deploy(ctx, req, l.obs)
	return api.ResultOf(res), err
}

func (l *local) RollbackTo(ctx context.Context, stack string, n int, req deploy.Request) (api.Result, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return api.Result{}, err
	}
	res, err := ops.RollbackTo(ctx, stack, n, req, l.obs)
	return api.ResultOf(res), err
}

func (l *local) Rollback(ctx context.Context, stack string, o deploy.Overrides) (store.Release, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return store.Release{}, err
	}
	return shownRelease(ops.Rollback(ctx, stack, o, l.obs))
}

func (l *local) Confirm(ctx context.Context, stack string) (store.Release, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return store.Release{}, err
	}
	return shownRelease(ops.Confirm(ctx, stack, l.obs))
}

func (l *local) Promote(ctx context.Context, stack string) (store.Release, error) {
	return shownRelease(l.ops.Promote(ctx, stack, l.obs))
}

func (l *local) Abort(ctx context.Context, stack string, wait time.Duration) (store.Release, error) {
	return shownRelease(l.ops.Abort(ctx, stack, wait, l.obs))
}

func (l *local) Unlock(ctx context.Context, stack string, force bool) (store.Lock, error) {
	return l.ops.Unlock(ctx, stack, force)
}

func (l *local) Down(ctx context.Context, stack string, volumes bool) (deploy.DownResult, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return deploy.DownResult{}, err
	}
	return ops.Down(ctx, stack, volumes, l.obs)
}

func (l *local) Status(ctx context.Context, stack string) (api.StackStatus, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return api.StackStatus{}, err
	}
	l.mux.UseStored(ctx, stack) // its nginx or RFC 2136 routes
	return ops.Status(ctx, stack)
}

func (l *local) Stacks(ctx context.Context) ([]api.StackStatus, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return nil, err
	}
	l.mux.UseStored(ctx)
	return ops.Stacks(ctx)
}

func (l *local) History(ctx context.Context, stack string) ([]store.Release, error) {
	return l.ops.History(ctx, stack)
}

func (l *local) Check(ctx context.Context, stack string, opts daemon.CheckOptions) (api.CheckReport, error) {
	ops, err := l.withEngine(ctx)
	if err != nil {
		return api.CheckReport{}, err
	}
	return ops.Check(ctx, stack, opts, l.obs)
}

// notifyFlushTimeout bounds how long a command that ran a deploy waits, as
// it exits, for its notifications to go out.
const notifyFlushTimeout = 10 * time.Second

func (l *local) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), notifyFlushTimeout)
	defer cancel()
	if err := l.ops.Notify.Close(ctx); err != nil {
		l.ops.Logger.Warn("notifications not delivered", "error", err)
	}
	if l.engine != nil {
		l.engine.Close()
	}
	return l.ops.Store.Close()
}

// shownRelease hands a release to the commands as the daemon's API does:
// with the secrets of its spec redacted (daemon.Shown).
func shownRelease(rel store.Release, err error) (store.Release, error) {
	return daemon.Shown(rel), err
}
