package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/notify"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
)

// ErrNothingToDo is wrapped when confirm, rollback or abort find no release
// in the state they act on.
var ErrNothingToDo = errors.New("nothing to do")

func (d *Deployer) executor(stack string, release int, log *slog.Logger) *Executor {
	return &Executor{Engine: d.Engine, Journal: storeJournal{s: d.Store, stack: stack, release: release},
		Observer: d.observer(), Logger: log, Stack: stack, Release: release, Now: d.Now, Poll: d.Poll, Router: d.Router,
		Promoted: func(ctx context.Context) bool {
			rel, err := d.Store.GetRelease(ctx, stack, release)
			return err == nil && rel.Promoted
		},
		OnWeight: func(ctx context.Context, weight int) {
			if _, err := d.Store.UpdateRelease(ctx, stack, release, func(rel *store.Release) error { rel.Weight = weight; return nil }); err != nil {
				log.Warn("recording the canary weight", "error", err)
			}
		}}
}

func checkFlags(o Overrides) error {
	if err := compose.ValidateOrder(o.Order); err != nil {
		return BadInput("--order: " + err.Error())
	}
	if o.BatchSize < 0 {
		return BadInput(fmt.Sprintf("--batch-size %d: must be at least 1", o.BatchSize))
	}
	if o.Interval != nil && *o.Interval < 0 {
		return BadInput("--interval: must not be negative")
	}
	if o.HealthTimeout < 0 {
		return BadInput(fmt.Sprintf("--health-timeout %s: must be positive", o.HealthTimeout))
	}
	switch o.Pull {
	case "", "always", "missing", "never":
	default:
		return BadInput(fmt.Sprintf("--pull %q: want always, missing or never", o.Pull))
	}
	return nil
}

// awaitConfirm ends a deploy whose old containers stay for confirm or
// rollback: a strategy that awaits confirmation, or a failure that paused.
func (r *run) awaitConfirm(ctx context.Context, plan *strategies.Plan, tolerated []*StepError, paused *StepError, isPaused bool) (Result, error) {
	steps := plan.Confirm
	if isPaused {
		steps = append(slices.Clone(steps), r.d.unfinished(ctx, plan)...)
	}
	confirm, err := json.Marshal(steps)
	if err != nil {
		return r.fail(ctx, plan, fmt.Errorf("encoding confirm steps: %w", err))
	}
	var notes []string
	for _, t := range tolerated {
		notes = append(notes, "tolerated: "+firstLine(t.Error()))
	}
	if isPaused {
		notes = append(notes, "paused after a failure (failure_action pause): "+firstLine(paused.Error()))
	}
	auto := r.st.Ext.AutoConfirm
	if _, err := r.update(ctx, func(rel *store.Release) {
		rel.Confirm = confirm
		rel.Note = strings.Join(notes, "; ")
		if isPaused {
			rel.Reason = paused.Reason()
		}
		if auto != nil && !isPaused {
			rel.AutoConfirmAt = r.d.now().Add(time.Duration(*auto))
		}
	}); err != nil {
		return r.fail(ctx, plan, err)
	}
	if _, err := r.d.Store.UpdateStack(ctx, r.st.Name, func(s *store.Stack) error {
		s.Down = false
		s.WorkingDir, s.ConfigFiles = r.st.WorkingDir(), r.st.ConfigFiles()
		s.Strategy = r.rel.Strategy // the stack's strategy is the one that last succeeded
		return nil
	}); err != nil {
		return r.fail(ctx, plan, fmt.Errorf("updating stack: %w", err))
	}
	rel, err := r.setStatus(ctx, store.StatusAwaitingConfirm, "")
	if err != nil {
		return Result{Release: rel, Plan: plan}, err
	}
	if isPaused {
		r.d.notifyRelease(r.st, rel, notify.KindFailure, "paused after a failure (failure_action pause): "+paused.Reason(), releaseDuration(rel))
		return Result{Release: rel, Plan: plan}, fmt.Errorf("release %d of %s paused: confirm or roll it back: %w", rel.Number, r.st.Name, paused)
	}
	r.d.notifyRelease(r.st, rel, notify.KindSuccess, "", releaseDuration(rel))
	return Result{Release: rel, Plan: plan}, nil
}

// unfinished returns removals of the containers a paused plan created that
// never took their compose name (a start-first batch stopped at its health
// gate): they may be running under the service's alias, and confirming the
// paused release must not leave them behind.
func (d *Deployer) unfinished(ctx context.Context, plan *strategies.Plan) []strategies.Step {
	var out []strategies.Step
	for _, s := range plan.Steps {
		if s.Action != strategies.ActionCreate || !strategies.IsTemporaryName(s.Spec.Name) {
			continue
		}
		if _, err := d.Engine.InspectContainer(ctx, s.Spec.Name); err == nil {
			out = append(out, strategies.Step{Action: strategies.ActionRemove, Service: s.Service, Container: s.Spec.Name,
				Cause: fmt.Sprintf("created by release %d, which paused before it took its name", plan.Release)})
		}
	}
	return out
}

// Confirm makes the release awaiting confirmation final: it removes what
// the previous release left (the stopped old containers).
func (d *Deployer) Confirm(ctx context.Context, stack string) (store.Release, error) {
	waiting, lock, err := d.lockAwaiting(ctx, stack, "confirm")
	if err != nil {
		return store.Release{}, err
	}
	defer d.unlock(ctx, lock)
	return d.confirmLocked(ctx, waiting)
}

// confirmLocked confirms rel. A paused release (failure_action pause) is
// confirmed as far as it got: what it replaced stays, the old containers
// of those replicas go, and its note says which containers still run an
// earlier release; one that paused before any of its containers took over
// is refused (see refuseEmptyPause).
func (d *Deployer) confirmLocked(ctx context.Context, rel store.Release) (store.Release, error) {
	b, err := d.settlementOf(ctx, rel, "confirmed")
	if err != nil {
		return rel, err
	}
	if b.supersede {
		return rel, refuseEmptyPause(rel)
	}
	return d.settle(ctx, b)
}

// markActive marks release n active and earlier serving releases superseded.
func (d *Deployer) markActive(ctx context.Context, stack string, n int, note string) (store.Release, error) {
	earlier, err := d.Store.ListReleases(ctx, stack)
	if err != nil {
		return store.Release{}, fmt.Errorf("listing releases: %w", err)
	}
	for _, e := range earlier {
		if e.Number == n || (e.Status != store.StatusActive && e.Status != store.StatusAwaitingConfirm) {
			continue
		}
		if _, err := d.Store.UpdateRelease(ctx, stack, e.Number, func(rel *store.Release) error {
			rel.Status = store.StatusSuperseded
			rel.Note = fmt.Sprintf("replaced by release %d", n)
			return nil
		}); err != nil {
			return store.Release{}, fmt.Errorf("superseding release %d: %w", e.Number, err)
		}
	}
	rel, err := d.Store.UpdateRelease(ctx, stack, n, func(rel *store.Release) error {
		rel.Status = store.StatusActive
		rel.Note = note
		rel.Confirm = nil
		rel.AutoConfirmAt = time.Time{}
		if rel.FinishedAt.IsZero() {
			rel.FinishedAt = d.now()
		}
		return nil
	})
	if err != nil {
		return rel, fmt.Errorf("recording release %d: %w", n, err)
	}
	d.emit(Event{Stack: stack, Release: n, Kind: KindRelease, Status: string(store.StatusActive)})
	return rel, nil
}

// Rollback goes back instantly from the release awaiting confirmation: the
// previous release's stopped containers start again (batched and
// health-gated per rollback_config), the release's containers are removed,
// and the release is recorded rolled-back.
func (d *Deployer) Rollback(ctx context.Context, stack string) (store.Release, error) {
	return d.RollbackWith(ctx, stack, Overrides{})
}

// RollbackWith is Rollback with deploy flags (--batch-size, --interval,
// --order, --allow-stop-first, --health-timeout) overriding the previous
// release's rollback_config, as they override update_config on deploy.
func (d *Deployer) RollbackWith(ctx context.Context, stack string, o Overrides) (store.Release, error) {
	if err := checkFlags(o); err != nil {
		return store.Release{}, err
	}
	waiting, lock, err := d.lockAwaiting(ctx, stack, "roll back")
	if err != nil {
		return store.Release{}, err
	}
	defer d.unlock(ctx, lock)

	prev, err := d.Store.LatestRelease(ctx, stack, store.StatusActive)
	if err != nil || prev.Number > waiting.Number {
		return store.Release{}, BadInput(fmt.Sprintf("release %d of %s has no previous serving release to go back to; use cutover down", waiting.Number, stack))
	}
	st, err := d.stackOf(ctx, prev)
	if err != nil {
		return store.Release{}, err
	}
	d.useStack(st)
	resolved := map[string]compose.ResolvedImage{}
	for svc, img := range prev.Images {
		resolved[svc] = compose.ResolvedImage{Ref: img.Pinned(), ID: img.ID}
	}
	plan, err := d.rollbackPlan(ctx, st, prev, waiting, resolved, o)
	if err != nil {
		return store.Release{}, err
	}
	d.emit(Event{Stack: stack, Release: waiting.Number, Kind: KindMessage, Status: "info",
		Message: fmt.Sprintf("rolling back release %d to release %d", waiting.Number, prev.Number)})
	began := d.now()
	x := d.executor(stack, waiting.Number, d.logger())
	x.Failure = plan.Failure
	if err := x.Run(ctx, plan.Steps); err != nil {
		return waiting, fmt.Errorf("rollback of release %d failed and was undone; release %d still serves: %w: %w", waiting.Number, waiting.Number, ErrDeployFailed, err)
	}
	if err := x.RunConfirm(ctx, plan.Confirm); err != nil {
		d.emit(Event{Stack: stack, Release: waiting.Number, Kind: KindMessage, Status: "warning", Message: "cleanup incomplete: " + err.Error()})
	}
	rel, err := d.Store.UpdateRelease(ctx, stack, waiting.Number, func(rel *store.Release) error {
		rel.Status = store.StatusRolledBack
		rel.Confirm = nil
		rel.AutoConfirmAt = time.Time{}
		rel.Note = fmt.Sprintf("rolled back to release %d", prev.Number)
		return nil
	})
	if err != nil {
		return rel, fmt.Errorf("recording release %d: %w", waiting.Number, err)
	}
	d.emit(Event{Stack: stack, Release: rel.Number, Kind: KindRelease, Status: string(store.StatusRolledBack)})
	d.notifyRelease(d.notifyStack(ctx, rel, st), rel, notify.KindRollback, rel.Note, d.now().Sub(began))
	return rel, nil
}

// RollbackTo deploys release n's recorded spec again, images pinned to what
// it ran, as a new release with the stack's strategy.
func (d *Deployer) RollbackTo(ctx context.Context, stack string, n int, req Request) (Result, error) {
	target, err := d.Store.GetRelease(ctx, stack, n)
	if err != nil {
		return Result{}, BadInput(err.Error())
	}
	if len(target.Spec) == 0 {
		return Result{}, BadInput(fmt.Sprintf("release %d of %s has no recorded spec (it failed before its images were resolved)", n, stack))
	}
	if err := d.ping(ctx); err != nil {
		return Result{}, err
	}
	st, err := d.stackOf(ctx, target)
	if err != nil {
		return Result{}, err
	}
	req.Stack = st
	req.Images = map[string]string{}
	for svc, img := range target.Images {
		ref, err := d.pinnedRef(ctx, img)
		if err != nil {
			return Result{}, fmt.Errorf("release %d, service %s: %w", n, svc, err)
		}
		req.Images[svc] = ref
	}
	if req.Strategy == "" {
		if rec, err := d.Store.GetStack(ctx, stack); err == nil {
			req.Strategy = rec.Strategy
		}
	}
	if req.Trigger == "" {
		req.Trigger = fmt.Sprintf("rollback --to %d", n)
	}
	return d.Deploy(ctx, req)
}

// pinnedRef names exactly the image a release ran (see ranRef), or says
// why it cannot.
func (d *Deployer) pinnedRef(ctx context.Context, img store.ImageRef) (string, error) {
	if ref, ok := d.ranRef(ctx, img); ok {
		return ref, nil
	}
	return "", fmt.Errorf("image %s (%s) is no longer present and has no registry digest", img.Ref, img.ID)
}

// stackOf loads the stack a release recorded.
func (d *Deployer) stackOf(ctx context.Context, rel store.Release) (*compose.Stack, error) {
	return releaseStack(ctx, d.Store, rel)
}

// releaseStack loads the stack a release recorded. LoadRemote keeps the
// stack's compose files, so containers of a redeployed release carry the
// config_files label docker compose reads, as the original deploy's did.
func releaseStack(ctx context.Context, s *store.Store, rel store.Release) (*compose.Stack, error) {
	rec, err := s.GetStack(ctx, rel.Stack)
	if err != nil {
		return nil, err
	}
	st, err := compose.LoadRemote(ctx, rel.Stack, rec.WorkingDir, rec.ConfigFiles, rel.Spec)
	if err != nil {
		return nil, fmt.Errorf("release %d: %w", rel.Number, err)
	}
	return st, nil
}

// lockAwaiting finds the release awaiting confirmation and takes the
// stack's lock for acting on it; the caller unlocks.
func (d *Deployer) lockAwaiting(ctx context.Context, stack, verb string) (store.Release, store.Lock, error) {
	if err := d.ping(ctx); err != nil {
		return store.Release{}, store.Lock{}, err
	}
	waiting, err := d.awaiting(ctx, stack, verb)
	if err != nil {
		return store.Release{}, store.Lock{}, err
	}
	lock, err := d.lock(ctx, stack, waiting.Number, 0)
	if err != nil {
		return store.Release{}, store.Lock{}, err
	}
	// Another process may have confirmed or rolled back before the lock.
	if waiting, err = d.awaiting(ctx, stack, verb); err != nil {
		d.unlock(ctx, lock)
		return store.Release{}, store.Lock{}, err
	}
	return waiting, lock, nil
}

func (d *Deployer) awaiting(ctx context.Context, stack, verb string) (store.Release, error) {
	rec, err := d.Store.GetStack(ctx, stack)
	if err != nil {
		return store.Release{}, BadInput(err.Error())
	}
	if rec.Down {
		return store.Release{}, BadInput(downMessage(stack, verb))
	}
	waiting, err := d.Store.LatestRelease(ctx, stack, store.StatusAwaitingConfirm)
	if err != nil {
		latest, lerr := d.Store.LatestRelease(ctx, stack)
		msg := fmt.Sprintf("no release of %s awaits confirmation, nothing to %s", stack, verb)
		if lerr == nil {
			msg += fmt.Sprintf(" (latest is release %d, %s)", latest.Number, latest.Status)
		}
		if lerr == nil && (latest.Status == store.StatusDeploying || latest.Status == store.StatusPending) {
			// Going back from a release still deploying is aborting it.
			msg += fmt.Sprintf("; to stop release %d and undo what it did use cutover abort %s", latest.Number, stack)
		} else if verb == "roll back" {
			msg += "; to go back to an earlier release use cutover rollback --to N"
		}
		return store.Release{}, fmt.Errorf("%s: %w", msg, ErrNothingToDo)
	}
	return waiting, nil
}

// WaitAutoConfirm waits until the release's auto_confirm time while its
// containers stay healthy, then confirms it. A container that exits or
// turns unhealthy meanwhile rolls the release back instead.
func (d *Deployer) WaitAutoConfirm(ctx context.Context, stack string, n int) (store.Release, error) {
	rel, err := d.Store.GetRelease(ctx, stack, n)
	if err != nil {
		return rel, err
	}
	if rel.Status != store.StatusAwaitingConfirm || rel.AutoConfirmAt.IsZero() {
		return rel, nil
	}
	d.emit(Event{Stack: stack, Release: n, Kind: KindMessage, Status: "info",
		Message: fmt.Sprintf("auto-confirm at %s if its containers stay healthy", rel.AutoConfirmAt.Local().Format(time.TimeOnly))})
	for d.now().Before(rel.AutoConfirmAt) {
		select {
		case <-ctx.Done():
			return rel, ctx.Err()
		case <-time.After(min(time.Second, rel.AutoConfirmAt.Sub(d.now()))):
		}
		if sick := d.sickContainer(ctx, stack, n); sick != "" {
			d.emit(Event{Stack: stack, Release: n, Kind: KindMessage, Status: "warning", Message: sick + ": rolling back instead of confirming"})
			if _, err := d.Rollback(ctx, stack); err != nil {
				return rel, err
			}
			rel, _ = d.Store.GetRelease(ctx, stack, n)
			return rel, fmt.Errorf("release %d of %s rolled back before auto-confirm: %s: %w", n, stack, sick, ErrDeployFailed)
		}
		// Someone confirmed or rolled back meanwhile.
		if cur, err := d.Store.GetRelease(ctx, stack, n); err == nil && cur.Status != store.StatusAwaitingConfirm {
			return cur, nil
		}
	}
	return d.Confirm(ctx, stack)
}

// sickContainer names a container of release n that exited or is unhealthy.
func (d *Deployer) sickContainer(ctx context.Context, stack string, n int) string {
	cs, err := d.Engine.ListContainers(ctx, map[string]string{compose.LabelProject: stack, compose.LabelRelease: fmt.Sprint(n)})
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if strategies.IsTemporaryName(c.Name) {
			continue
		}
		if !c.Running() {
			return fmt.Sprintf("container %s is %s (exit code %d)", c.Name, c.State, c.ExitCode)
		}
		if c.Health == "unhealthy" {
			return fmt.Sprintf("container %s is unhealthy", c.Name)
		}
	}
	return ""
}

// Abort stops the deploy in progress for a stack: it signals the deploying
// process, which undoes what it changed and records the release aborted,
// and waits until it has.
func (d *Deployer) Abort(ctx context.Context, stack string, wait time.Duration) (store.Release, error) {
	lock, held, err := d.Store.GetLock(ctx, stack)
	if err != nil {
		return store.Release{}, err
	}
	if !held {
		return store.Release{}, fmt.Errorf("no deploy of %s is running: %w", stack, ErrNothingToDo)
	}
	host, _ := os.Hostname()
	if lock.Host != host {
		return store.Release{}, fmt.Errorf("the deploy of %s runs on host %s (pid %d); abort it there", stack, lock.Host, lock.PID)
	}
	if d.Store.IsStale(lock) {
		return store.Release{}, fmt.Errorf("the deploy of %s (pid %d) is gone and left its lock: run cutover unlock %s", stack, lock.PID, stack)
	}
	if err := syscall.Kill(lock.PID, syscall.SIGINT); err != nil {
		return store.Release{}, fmt.Errorf("signalling pid %d: %w", lock.PID, err)
	}
	d.emit(Event{Stack: stack, Release: lock.Release, Kind: KindMessage, Status: "info", Message: fmt.Sprintf("asked pid %d to abort release %d", lock.PID, lock.Release)})
	deadline := d.now().Add(wait)
	for {
		cur, stillHeld, err := d.Store.GetLock(ctx, stack)
		if err != nil {
			return store.Release{}, err
		}
		if !stillHeld || cur.Token != lock.Token {
			break
		}
		if d.now().After(deadline) {
			return store.Release{}, fmt.Errorf("release %d of %s is still being undone after %s", lock.Release, stack, wait)
		}
		select {
		case <-ctx.Done():
			return store.Release{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return d.Store.GetRelease(ctx, stack, lock.Release)
}

// Unlock clears a stack's lock left by a process that is gone, and records
// its unfinished release as failed. A live holder's lock is kept unless force.
func (d *Deployer) Unlock(ctx context.Context, stack string, force bool) (store.Lock, error) {
	lock, held, err := d.Store.GetLock(ctx, stack)
	if err != nil {
		return lock, err
	}
	if !held {
		return lock, fmt.Errorf("stack %s is not locked: %w", stack, ErrNothingToDo)
	}
	if !force && !d.Store.IsStale(lock) {
		return lock, BadInput(fmt.Sprintf("stack %s is locked by a live deploy (release %d, pid %d on %s); use cutover abort, or unlock --force if you are sure", stack, lock.Release, lock.PID, lock.Host))
	}
	if _, err := d.Store.Unlock(ctx, stack); err != nil {
		return lock, err
	}
	if lock.Release > 0 {
		_, err := d.Store.UpdateRelease(ctx, stack, lock.Release, func(r *store.Release) error {
			if r.Status == store.StatusPending || r.Status == store.StatusDeploying {
				r.Status = store.StatusFailed
				r.Reason = fmt.Sprintf("interrupted: its process (pid %d) ended without finishing; lock cleared by cutover unlock", lock.PID)
				r.FinishedAt = d.now()
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrReleaseNotFound) {
			return lock, err
		}
	}
	return lock, nil
}

func (d *Deployer) lock(ctx context.Context, stack string, release int, wait time.Duration) (store.Lock, error) {
	host, _ := os.Hostname()
	l := store.Lock{Stack: stack, Release: release, PID: os.Getpid(), Host: host}
	got, err := d.Store.Acquire(ctx, l)
	if wait <= 0 || !errors.Is(err, store.ErrStackLocked) {
		return got, err
	}
	// Say why nothing happens yet: the wait may last minutes.
	d.emit(Event{Stack: stack, Kind: KindMessage, Status: "info",
		Message: fmt.Sprintf("%s; waiting up to %s for it (--lock-wait)", firstLine(err.Error()), wait)})
	return d.Store.AcquireWait(ctx, l, wait)
}

func (d *Deployer) unlock(ctx context.Context, l store.Lock) {
	if err := d.Store.Release(context.WithoutCancel(ctx), l); err != nil {
		d.logger().Error("releasing lock", "stack", l.Stack, "error", err)
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
