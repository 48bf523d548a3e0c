// Package daemon is `cutover serve`: a long-running process that owns the
// built-in proxy router and runs deploys for the CLI over an HTTP+JSON API
// on a unix socket in the state dir (and, with a bearer token, on TCP).
//
// Ops, the operations the API serves, are also what the CLI runs
// in-process when no daemon answers, so both paths share one
// implementation and every behaviour test.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

// Ops run cutover's operations against one engine, store and router.
type Ops struct {
	Engine engine.Engine
	Store  *store.Store
	// Router moves traffic for routed services; nil in-process, where
	// plans that need it are refused.
	Router deploy.Router
	// Routes returns the router's routes for status; nil shows none.
	Routes func() []lb.RouteStatus
	Logger *slog.Logger
	// Notify sends release notifications (x-cutover.notify); nil sends none.
	Notify *deploy.Notifications
	// Registry tells the digest a registry serves for a tag (cutover
	// check, pushes without a digest); nil uses a registry.Client with this
	// process's docker config, made when first needed.
	Registry DigestSource

	registryMu sync.Mutex // guards Registry's lazy creation

	jobs *jobs
}

// NewOps returns Ops; set Router and Routes on the result where a router runs.
func NewOps(eng engine.Engine, s *store.Store, logger *slog.Logger) *Ops {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Ops{Engine: eng, Store: s, Logger: logger, jobs: newJobs()}
}

// deployer is a Deployer reporting to obs.
func (o *Ops) deployer(obs deploy.Observer) *deploy.Deployer {
	return &deploy.Deployer{Engine: o.Engine, Store: o.Store, Router: o.Router, Observer: obs, Logger: o.Logger, Notify: o.Notify}
}

// Deploy runs one release and, when it awaits confirmation with
// auto_confirm set, waits for it to confirm itself (or roll back).
func (o *Ops) Deploy(ctx context.Context, req deploy.Request, obs deploy.Observer) (deploy.Result, error) {
	ctx, done, err := o.jobs.start(ctx, req.Stack.Name)
	if err != nil {
		return deploy.Result{}, err
	}
	defer done()
	d := o.deployer(obs)
	res, err := d.Deploy(ctx, req)
	return waitAutoConfirm(ctx, d, res, err)
}

// RollbackTo deploys release n's recorded spec again as a new release.
func (o *Ops) RollbackTo(ctx context.Context, stack string, n int, req deploy.Request, obs deploy.Observer) (deploy.Result, error) {
	ctx, done, err := o.jobs.start(ctx, stack)
	if err != nil {
		return deploy.Result{}, err
	}
	defer done()
	d := o.deployer(obs)
	res, err := d.RollbackTo(ctx, stack, n, req)
	return waitAutoConfirm(ctx, d, res, err)
}

// waitAutoConfirm waits for a release that confirms itself after a delay.
func waitAutoConfirm(ctx context.Context, d *deploy.Deployer, res deploy.Result, err error) (deploy.Result, error) {
	r := res.Release
	if !confirmsItself(res, err) {
		return res, err
	}
	rel, err := d.WaitAutoConfirm(ctx, r.Stack, r.Number)
	if rel.Number != 0 {
		res.Release = rel
	}
	return res, err
}

// Rollback goes back from the release awaiting confirmation. A canary
// release still in its steps is aborted instead: all traffic goes back to
// the serving color and the canary's color is removed.
func (o *Ops) Rollback(ctx context.Context, stack string, ov deploy.Overrides, obs deploy.Observer) (store.Release, error) {
	if rel, err := o.Store.LatestRelease(ctx, stack); err == nil && rel.Strategy == compose.StrategyCanary && rel.Status == store.StatusDeploying {
		return o.Abort(ctx, stack, canaryAbortWait, obs)
	}
	ctx, done, err := o.jobs.start(ctx, stack)
	if err != nil {
		return store.Release{}, err
	}
	defer done()
	return o.deployer(obs).RollbackWith(ctx, stack, ov)
}

// canaryAbortWait bounds how long rollback waits for an aborted canary to
// undo its steps.
const canaryAbortWait = 5 * time.Minute

// Promote ends the pauses of the stack's canary release in progress.
func (o *Ops) Promote(ctx context.Context, stack string, obs deploy.Observer) (store.Release, error) {
	return o.deployer(obs).Promote(ctx, stack)
}

// Confirm makes the release awaiting confirmation final.
func (o *Ops) Confirm(ctx context.Context, stack string, obs deploy.Observer) (store.Release, error) {
	ctx, done, err := o.jobs.start(ctx, stack)
	if err != nil {
		return store.Release{}, err
	}
	defer done()
	return o.deployer(obs).Confirm(ctx, stack)
}

// Down removes the stack's containers and networks (and volumes).
func (o *Ops) Down(ctx context.Context, stack string, volumes bool, obs deploy.Observer) (deploy.DownResult, error) {
	ctx, done, err := o.jobs.start(ctx, stack)
	if err != nil {
		return deploy.DownResult{}, err
	}
	defer done()
	return o.deployer(obs).Down(ctx, stack, volumes)
}

// Unlock clears a stack's lock left by a process that is gone.
func (o *Ops) Unlock(ctx context.Context, stack string, force bool) (store.Lock, error) {
	lock, err := o.deployer(nil).Unlock(ctx, stack, force)
	lock.Token = ""
	return lock, err
}

// Abort stops the deploy in progress for a stack and waits until it is
// undone. A deploy this process runs is cancelled (every operation on the
// stack, including one queued behind it with --lock-wait); one that
// another process runs on this host is signalled, as the Deployer does.
func (o *Ops) Abort(ctx context.Context, stack string, wait time.Duration, obs deploy.Observer) (store.Release, error) {
	lock, held, err := o.Store.GetLock(ctx, stack)
	if err != nil {
		return store.Release{}, api.EnvError(err)
	}
	if !held || lock.PID != os.Getpid() {
		return o.deployer(obs).Abort(ctx, stack, wait)
	}
	if obs == nil {
		obs = deploy.Discard{}
	}
	ended := o.jobs.cancel(stack)
	if len(ended) == 0 {
		return store.Release{}, fmt.Errorf("the lock of %s is held by this process (pid %d) but no operation of it runs; clear it with cutover unlock %s", stack, lock.PID, stack)
	}
	obs.Event(deploy.Event{Time: time.Now(), Stack: stack, Release: lock.Release, Kind: deploy.KindMessage, Status: "info",
		Message: fmt.Sprintf("aborting release %d", lock.Release)})
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for _, ch := range ended {
		select {
		case <-ch:
		case <-timer.C:
			return store.Release{}, fmt.Errorf("release %d of %s is still being undone after %s", lock.Release, stack, wait)
		case <-ctx.Done():
			return store.Release{}, ctx.Err()
		}
	}
	if lock.Release == 0 {
		return store.Release{Stack: stack}, nil
	}
	return o.Store.GetRelease(ctx, stack, lock.Release)
}

// History returns a stack's releases, newest first, without their specs.
func (o *Ops) History(ctx context.Context, stack string) ([]store.Release, error) {
	if _, err := o.Store.GetStack(ctx, stack); err != nil {
		if errors.Is(err, store.ErrStackNotFound) {
			return nil, deploy.BadInput(err.Error())
		}
		return nil, api.EnvError(err)
	}
	releases, err := o.Store.ListReleases(ctx, stack)
	if err != nil {
		return nil, api.EnvError(err)
	}
	slices.Reverse(releases)
	for i := range releases {
		releases[i].Spec = nil // large; history is about outcomes
	}
	return releases, nil
}

// Wait waits until every running operation has ended or ctx ends.
func (o *Ops) Wait(ctx context.Context) error { return o.jobs.wait(ctx) }

// CancelAll cancels every running operation and refuses new ones
// (ErrShuttingDown); a cancelled deploy undoes itself and is recorded
// aborted.
func (o *Ops) CancelAll() int { return o.jobs.cancelAll() }

// confirmsItself reports whether a deploy's outcome is a release that will
// confirm itself after its auto_confirm delay.
func confirmsItself(res deploy.Result, err error) bool {
	r := res.Release
	return err == nil && !res.DryRun && r.Status == store.StatusAwaitingConfirm && !r.AutoConfirmAt.IsZero()
}

// awaitAutoConfirm waits, in the background of an operation, for release
// rel to confirm itself (or roll back), and logs the outcome.
func (o *Ops) awaitAutoConfirm(ctx context.Context, d *deploy.Deployer, rel store.Release) {
	got, err := d.WaitAutoConfirm(ctx, rel.Stack, rel.Number)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		o.Logger.Warn("auto-confirm", "stack", rel.Stack, "release", rel.Number, "error", err)
	default:
		o.Logger.Info("auto-confirm done", "stack", rel.Stack, "release", rel.Number, "status", got.Status)
	}
}
