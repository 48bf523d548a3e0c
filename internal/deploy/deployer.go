// Package deploy runs releases: it loads what the release wants, takes the
// stack's lock, records the release, prepares images, observes what runs,
// asks the strategy for a plan and has the executor run it, journaling every
// step and transition in the store before acting on it.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/notify"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bluegreen"
	"github.com/cutover/cutover/strategies/canary"
	"github.com/cutover/cutover/strategies/recreate"
	"github.com/cutover/cutover/strategies/rolling"
)

// Deployer runs releases against one engine and one store.
type Deployer struct {
	Engine   engine.Engine
	Store    *store.Store
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
	// Poll is the readiness poll interval (default 100 ms).
	Poll time.Duration
	// Router moves traffic for routed services: a RouterMux, which sends
	// each route to the proxy, nginx or dns router it belongs to. A
	// Deployer without one refuses plans that need a router.
	Router Router
	// Notify sends the stacks' release notifications (x-cutover.notify):
	// start, success, failure, rollback. Nil sends none.
	Notify *Notifications
}

// Request is one deploy.
type Request struct {
	Stack *compose.Stack
	// Strategy overrides x-cutover.strategy; "" uses it or the default.
	Strategy string
	// Images overrides service images: service → reference.
	Images map[string]string
	DryRun bool
	// Trigger says who started the release ("cli" when empty).
	Trigger string
	// LockWait waits this long for another deploy of the stack to end.
	LockWait time.Duration
	// Overrides are CLI flags that apply to every service.
	Overrides Overrides
	// Base, when set, is the serving release the request was built from
	// (Redeploy): once the stack's lock is taken, the deploy is refused
	// with ErrBaseMoved if another release serves by then.
	Base int
}

// Overrides are deploy flags that beat compose and x-cutover settings.
type Overrides struct {
	BatchSize      int            // --batch-size (0: unset)
	Interval       *time.Duration // --interval
	Order          string         // --order
	AllowStopFirst bool           // --allow-stop-first
	HealthTimeout  time.Duration  // --health-timeout (0: unset)
	Pull           string         // --pull always|missing|never
}

// apply sets the overrides on every service of want.
func (o Overrides) apply(want *strategies.Desired) {
	for i := range want.Services {
		svc := &want.Services[i]
		for _, pol := range []*strategies.UpdatePolicy{&svc.Update, &svc.Rollback} {
			if o.BatchSize > 0 {
				pol.BatchSize = o.BatchSize
			}
			if o.Interval != nil {
				pol.Interval = *o.Interval
			}
			if o.Order != "" {
				pol.Order = o.Order
			}
			if o.AllowStopFirst {
				pol.AllowStopFirst = true
			}
		}
		if o.HealthTimeout > 0 {
			svc.Ready.HealthTimeout = o.HealthTimeout
		}
	}
}

// Result is what a deploy did.
type Result struct {
	Release store.Release
	Plan    *strategies.Plan
	// DryRun is set when nothing was changed or recorded.
	DryRun bool
}

// Strategy returns the strategy for a name.
func Strategy(name string) (strategies.Strategy, error) {
	switch name {
	case compose.StrategyRecreate:
		return recreate.Recreate{}, nil
	case compose.StrategyRolling:
		return rolling.Rolling{}, nil
	case compose.StrategyBlueGreen:
		return bluegreen.BlueGreen{}, nil
	case compose.StrategyCanary:
		return canary.Canary{}, nil
	}
	return nil, BadInput(fmt.Sprintf("unknown strategy %q (available: recreate, rolling, bluegreen, canary)", name))
}

// Deploy runs one release of req.Stack. A failed release is undone, recorded
// as failed with its reason, and returned as an error wrapping ErrDeployFailed.
func (d *Deployer) Deploy(ctx context.Context, req Request) (Result, error) {
	st := req.Stack
	name := req.Strategy
	if name == "" {
		name = st.Ext.Strategy
	}
	if name == "" {
		name = compose.DefaultStrategy
	}
	strategy, err := Strategy(name)
	if err != nil {
		return Result{}, err
	}
	if err := checkOverrides(st, req.Images); err != nil {
		return Result{}, err
	}
	if err := checkFlags(req.Overrides); err != nil {
		return Result{}, err
	}
	if err := d.ping(ctx); err != nil {
		return Result{}, err
	}
	for _, field := range st.Unsupported() {
		d.emit(Event{Stack: st.Name, Kind: KindMessage, Status: "warning", Message: field + " is not supported by cutover yet and is ignored"})
	}
	refs := imageRefs(st, req.Images)
	if err := d.validatePlan(ctx, st, strategy, refs, req.Overrides); err != nil && !(req.DryRun && errors.Is(err, ErrNoRouter)) {
		return Result{}, err
	} else if err != nil {
		d.emit(Event{Stack: st.Name, Kind: KindMessage, Status: "warning", Message: err.Error()})
	}
	if req.DryRun {
		return d.dryRun(ctx, st, strategy, refs, req.Overrides)
	}

	prev, err := d.Store.GetStack(ctx, st.Name)
	if err != nil && !errors.Is(err, store.ErrStackNotFound) {
		return Result{}, fmt.Errorf("reading stack %s: %w", st.Name, err)
	}
	lock, err := d.lock(ctx, st.Name, prev.LastRelease+1, req.LockWait)
	if err != nil {
		return Result{}, err
	}
	defer d.unlock(ctx, lock)
	if err := d.checkBase(ctx, st.Name, req.Base); err != nil {
		return Result{}, err
	}

	if m, ok := d.Router.(*RouterMux); ok {
		m.Learn(ctx, st.Name)
	}
	// A release still awaiting confirmation is confirmed before the next
	// (or superseded, when nothing of it took over: see beforeNext).
	first, err := d.beforeNext(ctx, st.Name)
	if err != nil {
		return Result{}, err
	}
	if first != nil {
		d.emit(Event{Stack: st.Name, Release: first.rel.Number, Kind: KindMessage, Status: "info", Message: first.message})
		if _, err := d.settle(ctx, first); err != nil {
			return Result{}, fmt.Errorf("confirming release %d first: %w", first.rel.Number, err)
		}
	}

	// From here on the stack's routes are served as this release says:
	// told only now, under the lock, so that checking a deploy that is
	// then refused (or a dry run) never redirects a running release's
	// route calls.
	d.useStack(st)

	trigger := req.Trigger
	if trigger == "" {
		trigger = "cli"
	}
	rel, err := d.Store.CreateRelease(ctx, store.Release{
		Stack: st.Name, Status: store.StatusPending, Strategy: strategy.Name(), Trigger: trigger, Images: refsAsRecords(refs),
	}, store.Stack{Name: st.Name, WorkingDir: st.WorkingDir(), ConfigFiles: st.ConfigFiles(), Strategy: strategy.Name()})
	if err != nil {
		return Result{}, fmt.Errorf("recording release: %w", err)
	}
	run, err := d.newRun(ctx, st, rel)
	if err != nil {
		// The release is recorded: end it as failed, not pending forever.
		return d.failUnstarted(ctx, st, rel, err)
	}
	defer run.close()
	return run.deploy(ctx, strategy, refs, req)
}

// run is one release being deployed.
type run struct {
	d       *Deployer
	st      *compose.Stack
	rel     store.Release
	log     *slog.Logger
	logFile *os.File
}

func (d *Deployer) newRun(ctx context.Context, st *compose.Stack, rel store.Release) (*run, error) {
	dir := filepath.Join(d.Store.Dir(), "logs", st.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating log dir: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%s.log", rel.Number, d.now().UTC().Format("20060102T150405Z")))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening run log: %w", err)
	}
	r := &run{d: d, st: st, rel: rel, logFile: f,
		log: slog.New(slog.NewTextHandler(f, nil)).With("stack", st.Name, "release", rel.Number)}
	if _, err := r.update(ctx, func(rel *store.Release) { rel.LogFile = path }); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// failUnstarted records a release whose run could not start (no run log)
// as failed.
func (d *Deployer) failUnstarted(ctx context.Context, st *compose.Stack, rel store.Release, cause error) (Result, error) {
	r := &run{d: d, st: st, rel: rel, log: slog.New(slog.DiscardHandler)}
	return r.fail(ctx, nil, cause)
}

func (r *run) close() { r.logFile.Close() }

func (r *run) deploy(ctx context.Context, strategy strategies.Strategy, refs map[string]string, req Request) (Result, error) {
	d := r.d
	if _, err := r.setStatus(ctx, store.StatusDeploying, ""); err != nil {
		return r.fail(ctx, nil, err)
	}
	r.log.Info("deploy started", "strategy", strategy.Name(), "images", refs)

	resolved, records, err := d.prepareImages(ctx, r.st, refs, req.Images, req.Overrides.Pull, r.rel.Number)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	spec, err := pinnedSpec(r.st, records)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	if _, err := r.update(ctx, func(rel *store.Release) { rel.Images, rel.Spec = records, spec }); err != nil {
		return r.fail(ctx, nil, err)
	}

	want, err := d.desired(ctx, r.st, strategy.Name(), r.rel.Number, resolved)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	req.Overrides.apply(&want)
	snap, err := d.observe(ctx, r.st.Name)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	plan, err := strategy.Plan(snap, want)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	if plan.Color != "" {
		if _, err := r.update(ctx, func(rel *store.Release) { rel.Color = plan.Color }); err != nil {
			return r.fail(ctx, plan, err)
		}
	}
	r.log.Info("plan", "plan", plan.String())
	for _, note := range plan.Notes {
		d.emit(Event{Stack: r.st.Name, Release: r.rel.Number, Kind: KindMessage, Status: "note", Message: note})
	}

	x := d.executor(r.st.Name, r.rel.Number, r.log)
	x.Failure = plan.Failure
	err = x.Run(ctx, plan.Steps)
	var serr *StepError
	paused := errors.As(err, &serr) && errors.Is(err, ErrPaused)
	if err != nil && !paused {
		return r.fail(ctx, plan, err)
	}
	// After a DNS switch the old targets keep serving for the keep-old
	// window before what stops them may run.
	plan.Confirm = x.keepOldSteps(plan.Confirm)
	// Nothing kept for a rollback (a first deploy, nothing replaced): there is
	// nothing to confirm either.
	if (strategy.AwaitsConfirm() && len(plan.Confirm) > 0) || paused {
		return r.awaitConfirm(ctx, plan, x.Tolerated, serr, paused)
	}
	if err := x.RunConfirm(ctx, plan.Confirm); err != nil {
		// The new release serves; only cleanup failed. Say so, don't fail.
		r.log.Warn("confirm cleanup incomplete", "error", err)
		d.emit(Event{Stack: r.st.Name, Release: r.rel.Number, Kind: KindMessage, Status: "warning", Message: "cleanup incomplete: " + err.Error()})
	}
	note := ""
	if plan.Empty() {
		note = "no changes"
	}
	rel, err := r.activate(ctx, note)
	if err == nil {
		d.notifyRelease(r.st, rel, notify.KindSuccess, "", releaseDuration(rel))
	}
	return Result{Release: rel, Plan: plan}, err
}

// activate marks the release active and earlier serving releases superseded.
func (r *run) activate(ctx context.Context, note string) (store.Release, error) {
	if _, err := r.d.Store.UpdateStack(ctx, r.st.Name, func(s *store.Stack) error {
		s.Down = false
		s.WorkingDir, s.ConfigFiles = r.st.WorkingDir(), r.st.ConfigFiles()
		s.Strategy = r.rel.Strategy // the stack's strategy is the one that last succeeded
		return nil
	}); err != nil {
		return r.rel, fmt.Errorf("updating stack: %w", err)
	}
	rel, err := r.d.markActive(ctx, r.st.Name, r.rel.Number, note)
	if err == nil {
		r.rel = rel
	}
	return rel, err
}

// fail records the release as failed (or aborted when ctx was cancelled)
// and returns the matching error.
func (r *run) fail(ctx context.Context, plan *strategies.Plan, cause error) (Result, error) {
	status, sentinel := store.StatusFailed, ErrDeployFailed
	reason := cause.Error()
	var serr *StepError
	if errors.As(cause, &serr) {
		reason = serr.Reason()
	}
	if ctx.Err() != nil {
		status, sentinel = store.StatusAborted, ErrAborted
		reason = abortReason(ctx, cause, serr)
	}
	r.log.Error("deploy failed", "status", status, "reason", reason)
	rel, err := r.setStatus(context.WithoutCancel(ctx), status, reason)
	if err != nil {
		return Result{Release: r.rel, Plan: plan}, errors.Join(fmt.Errorf("%w: %w", sentinel, cause), err)
	}
	return Result{Release: rel, Plan: plan}, fmt.Errorf("release %d of %s %s: %w: %w", rel.Number, r.st.Name, status, sentinel, cause)
}

// abortReason says who stopped a deploy and where it was, rather than the
// "context canceled" the step that was running got: the cause its context
// was cancelled with (cutover abort, a signal, the daemon's shutdown).
func abortReason(ctx context.Context, cause error, serr *StepError) string {
	who := context.Cause(ctx)
	switch {
	case who == nil || who == context.Canceled:
		who = errors.New("cancelled")
	case who == context.DeadlineExceeded:
		who = errors.New("timed out")
	}
	switch {
	case serr != nil && serr.UndoErr != nil:
		return fmt.Sprintf("%v, during %s %s (and undoing failed: %v)", who, serr.Step.Action, serr.Step.Target(), serr.UndoErr)
	case serr != nil:
		return fmt.Sprintf("%v, during %s %s", who, serr.Step.Action, serr.Step.Target())
	case errors.Is(cause, context.Canceled), errors.Is(cause, context.DeadlineExceeded):
		return who.Error()
	}
	return fmt.Sprintf("%v: %v", who, cause)
}

func (r *run) setStatus(ctx context.Context, status store.Status, reason string) (store.Release, error) {
	rel, err := r.update(ctx, func(rel *store.Release) {
		rel.Status = status
		if reason != "" {
			rel.Reason = reason
		}
		switch status {
		case store.StatusDeploying:
			rel.StartedAt = r.d.now()
		case store.StatusFailed, store.StatusAborted, store.StatusActive, store.StatusAwaitingConfirm:
			rel.FinishedAt = r.d.now()
		}
	})
	if err == nil {
		r.d.emit(Event{Stack: r.st.Name, Release: rel.Number, Kind: KindRelease, Status: string(status), Error: reason})
		switch status {
		case store.StatusDeploying:
			r.d.notifyRelease(r.st, rel, notify.KindStart, "", 0)
		case store.StatusFailed, store.StatusAborted:
			r.d.notifyRelease(r.st, rel, notify.KindFailure, failureReason(status, reason), releaseDuration(rel))
		}
	}
	return rel, err
}

func (r *run) update(ctx context.Context, fn func(*store.Release)) (store.Release, error) {
	rel, err := r.d.Store.UpdateRelease(ctx, r.st.Name, r.rel.Number, func(rel *store.Release) error {
		fn(rel)
		return nil
	})
	if err != nil {
		return r.rel, fmt.Errorf("recording release %d: %w", r.rel.Number, err)
	}
	r.rel = rel
	return rel, nil
}

func (d *Deployer) dryRun(ctx context.Context, st *compose.Stack, strategy strategies.Strategy, refs map[string]string, o Overrides) (Result, error) {
	resolved := map[string]compose.ResolvedImage{}
	for name, ref := range refs {
		img, err := d.Engine.InspectImage(ctx, ref)
		if err != nil && !errors.Is(err, engine.ErrNotFound) {
			return Result{}, fmt.Errorf("inspecting image %s: %w", ref, err)
		}
		resolved[name] = compose.ResolvedImage{Ref: ref, ID: img.ID}
	}
	next := 1
	if s, err := d.Store.GetStack(ctx, st.Name); err == nil {
		next = s.LastRelease + 1
	} else if !errors.Is(err, store.ErrStackNotFound) {
		return Result{}, fmt.Errorf("reading stack %s: %w", st.Name, err)
	}
	want, err := d.desired(ctx, st, strategy.Name(), next, resolved)
	if err != nil {
		return Result{}, err
	}
	o.apply(&want)
	snap, err := d.observe(ctx, st.Name)
	if err != nil {
		return Result{}, err
	}
	// The deploy settles a release awaiting confirmation first and plans
	// from what that leaves: say so, and plan from the same.
	if first, err := d.beforeNext(ctx, st.Name); err != nil {
		return Result{}, err
	} else if first != nil {
		d.emit(Event{Stack: st.Name, Release: first.rel.Number, Kind: KindMessage, Status: "info", Message: first.message + " (dry run: not done; the plan starts from what it leaves)"})
		snap = afterConfirm(snap, first.steps)
	}
	plan, err := strategy.Plan(snap, want)
	if err != nil {
		return Result{}, BadInput(err.Error())
	}
	return Result{Release: store.Release{Stack: st.Name, Number: next, Status: store.StatusPending, Strategy: strategy.Name(), Images: refsAsRecords(refs)}, Plan: plan, DryRun: true}, nil
}

func (d *Deployer) ping(ctx context.Context) error {
	if _, err := d.Engine.Ping(ctx); err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	return nil
}

func checkOverrides(st *compose.Stack, images map[string]string) error {
	for svc, ref := range images {
		if _, ok := st.Project.Services[svc]; !ok {
			return BadInput(fmt.Sprintf("--image %s=%s: stack %s has no service %q (services: %s)", svc, ref, st.Name, svc, strings.Join(st.ServiceNames(), ", ")))
		}
		if ref == "" {
			return BadInput(fmt.Sprintf("--image %s=: empty image reference", svc))
		}
	}
	return nil
}

func refsAsRecords(refs map[string]string) map[string]store.ImageRef {
	out := make(map[string]store.ImageRef, len(refs))
	for svc, ref := range refs {
		out[svc] = store.ImageRef{Ref: ref}
	}
	return out
}

// pinnedSpec is the stack's resolved model with every service's image
// pinned to its digest when known, else to the reference it ran.
func pinnedSpec(st *compose.Stack, images map[string]store.ImageRef) (json.RawMessage, error) {
	pinned := make(map[string]string, len(images))
	for svc, ref := range images {
		pinned[svc] = ref.Pinned()
	}
	return st.Spec(pinned)
}

func (d *Deployer) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	d.observer().Event(e)
}

func (d *Deployer) observer() Observer {
	if d.Observer == nil {
		return Discard{}
	}
	return d.Observer
}

func (d *Deployer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Deployer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// validatePlan plans against an empty engine before anything is recorded, so
// a stack the strategy cannot roll (a fixed host port with start-first, a
// container_name with replicas) is bad input, not a failed release.
func (d *Deployer) validatePlan(ctx context.Context, st *compose.Stack, strategy strategies.Strategy, refs map[string]string, o Overrides) error {
	resolved := make(map[string]compose.ResolvedImage, len(refs))
	for svc, ref := range refs {
		resolved[svc] = compose.ResolvedImage{Ref: ref}
	}
	want, err := d.desired(ctx, st, strategy.Name(), 0, resolved)
	if err != nil {
		return err
	}
	o.apply(&want)
	empty := strategies.Snapshot{Stack: st.Name, Containers: map[string][]strategies.Observed{}, Networks: map[string]bool{}, Volumes: map[string]bool{}}
	plan, err := strategy.Plan(empty, want)
	if err != nil {
		return BadInput(err.Error())
	}
	if err := d.checkRouter(st, plan); err != nil {
		return err
	}
	return d.checkMove(ctx, st, plan)
}
