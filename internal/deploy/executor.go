package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/strategies"
)

// Journal records each step of a release before and after it runs.
type Journal interface {
	StepStarted(ctx context.Context, s strategies.Step) (int, error)
	StepEnded(ctx context.Context, index int, status string, stepErr error) error
}

// Executor runs plans against the engine. It makes no decisions of its own:
// it runs steps in order, and when one fails it undoes the steps already
// done, in reverse, so what ran before keeps serving.
type Executor struct {
	Engine   engine.Engine
	Journal  Journal
	Observer Observer
	Logger   *slog.Logger
	Stack    string
	Release  int
	Now      func() time.Time
	// Poll is how often readiness is checked (default 100 ms).
	Poll time.Duration
	// UndoTimeout bounds the whole undo (default 3 minutes).
	UndoTimeout time.Duration
	// Failure is the plan's failure policy per service.
	Failure map[string]strategies.FailurePolicy
	// Tolerated collects failures the policy let pass.
	Tolerated []*StepError
	// HTTP is the client for readiness probes (default: 1 s timeout).
	HTTP *http.Client
	// Router runs route steps; nil fails them.
	Router Router
	// Promoted reports whether `cutover promote` ended the canary's
	// pauses; nil never does.
	Promoted func(ctx context.Context) bool
	// OnWeight records the canary's share after each split step.
	OnWeight func(ctx context.Context, weight int)

	mu     sync.Mutex
	canary map[string]map[string]string // route → canary target address → its container, of the last split
	kept   map[string]keptOld           // route → keep-old window of its last switch
}

// StepError is a failed step, after undo.
type StepError struct {
	Step strategies.Step
	Err  error
	// Logs are the last log lines of the container the step acted on
	// (or of LogsOf, the container a monitor step saw fail).
	Logs   string
	LogsOf string
	// UndoErr is set when undoing the earlier steps failed too.
	UndoErr error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Step.Action, e.Step.Target(), e.Err)
	if e.UndoErr != nil {
		msg += fmt.Sprintf(" (and undoing failed: %v)", e.UndoErr)
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// Reason is the text recorded on a failed release: what failed and the
// container's last log lines.
func (e *StepError) Reason() string {
	r := e.Error()
	if logs := strings.TrimSpace(e.Logs); logs != "" {
		of := e.LogsOf
		if of == "" {
			of = e.Step.Container
		}
		r += "\nlast log lines of " + of + ":\n" + logs
	}
	return r
}

// done is a step that ran, with what undoing it needs.
type done struct {
	step    strategies.Step
	index   int  // journal index, to mark the step undone
	created bool // ensure-network / ensure-volume / ensure-route made something new
	// prev are a route's targets before a switch, route-add or route-drain.
	prev []string
}

// ErrPaused is wrapped when a failure with failure_action pause stopped a
// plan: what ran stays, for the user to confirm or roll back.
var ErrPaused = errors.New("paused after a failure")

// Run executes steps in order. When a wait-ready or monitor step fails,
// the plan's failure policy for the service decides: tolerated failures
// (max_failure_ratio) and failure_action continue go on; pause stops and
// returns a *StepError wrapping ErrPaused; rollback (the default) undoes
// what ran and returns a *StepError.
func (x *Executor) Run(ctx context.Context, steps []strategies.Step) error {
	var ran []done
	failures := map[string]int{}
	for i := 0; i < len(steps); {
		j := groupEnd(steps, i)
		results := x.runGroup(ctx, steps[i:j])
		for k, r := range results {
			s := steps[i+k]
			if r.err == nil {
				ran = append(ran, r.done)
				continue
			}
			err := r.err
			serr := &StepError{Step: s, Err: err}
			if s.Container != "" && (s.Action == strategies.ActionWaitReady || s.Action == strategies.ActionStart) {
				serr.Logs = x.logs(s.Container)
			}
			var mf *monitorFailure
			if errors.As(err, &mf) {
				serr.Logs, serr.LogsOf = x.logs(mf.container), mf.container
			}
			if pol, ok := x.Failure[s.Service]; ok && ctx.Err() == nil && (s.Action == strategies.ActionWaitReady || s.Action == strategies.ActionMonitor) {
				failures[s.Service]++
				switch {
				case failures[s.Service] <= pol.MaxFailures || pol.Action == "continue":
					x.Tolerated = append(x.Tolerated, serr)
					x.warn(fmt.Sprintf("%s: tolerated (%d of %d allowed failures, failure_action %s): %v", s.Service, failures[s.Service], pol.MaxFailures, pol.Action, err))
					continue
				case pol.Action == "pause":
					serr.Err = fmt.Errorf("%w: %w", ErrPaused, err)
					return serr
				}
			}
			// Steps of the group that succeeded after this one are undone too.
			for _, later := range results[k+1:] {
				if later.err == nil {
					ran = append(ran, later.done)
				}
			}
			serr.UndoErr = x.undo(ctx, ran, readyPolicies(steps))
			return serr
		}
		i = j
	}
	return nil
}

// stepResult is one step's outcome within a group.
type stepResult struct {
	done done
	err  error
}

// parallel reports whether steps of this action may run together when the
// strategy put them in one batch: the engine calls of a batch's containers
// are independent, and running them one by one is most of a roll's time.
func parallel(a strategies.Action) bool {
	switch a {
	case strategies.ActionCreate, strategies.ActionStart, strategies.ActionStop, strategies.ActionWaitReady:
		return true
	}
	return false
}

// groupEnd returns the end of the group starting at i: consecutive steps of
// one parallel action and one non-zero batch; else just step i.
func groupEnd(steps []strategies.Step, i int) int {
	s := steps[i]
	j := i + 1
	if s.Batch == 0 || !parallel(s.Action) {
		return j
	}
	for j < len(steps) && steps[j].Batch == s.Batch && steps[j].Action == s.Action {
		j++
	}
	return j
}

// runGroup runs a group's steps concurrently (one step: in place) and
// returns their results in step order.
func (x *Executor) runGroup(ctx context.Context, group []strategies.Step) []stepResult {
	results := make([]stepResult, len(group))
	if len(group) == 1 {
		results[0].done, results[0].err = x.runStep(ctx, group[0])
		return results
	}
	var wg sync.WaitGroup
	for k := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k].done, results[k].err = x.runStep(ctx, group[k])
		}()
	}
	wg.Wait()
	return results
}

func (x *Executor) warn(msg string) {
	if x.Observer != nil {
		x.Observer.Event(Event{Time: x.now(), Stack: x.Stack, Release: x.Release, Kind: KindMessage, Status: "warning", Message: msg})
	}
	if x.Logger != nil {
		x.Logger.Warn(msg)
	}
}

// RunConfirm runs confirm steps (removals). They cannot be undone, so a
// failure is reported after trying every step; a container already gone is
// not a failure. A keep-old window cut short ends the run: what it holds
// back must not stop early.
func (x *Executor) RunConfirm(ctx context.Context, steps []strategies.Step) error {
	var errs []error
	for i := 0; i < len(steps); {
		j := groupEnd(steps, i)
		for k, r := range x.runGroup(ctx, steps[i:j]) {
			if s := steps[i+k]; r.err != nil && !errors.Is(r.err, engine.ErrNotFound) {
				errs = append(errs, fmt.Errorf("%s %s: %w", s.Action, s.Target(), r.err))
				if s.Action == ActionKeepOld {
					return errors.Join(errs...)
				}
			}
		}
		i = j
	}
	return errors.Join(errs...)
}

func (x *Executor) runStep(ctx context.Context, s strategies.Step) (done, error) {
	idx, jerr := x.journal().StepStarted(ctx, s)
	if jerr != nil {
		return done{}, fmt.Errorf("journaling step: %w", jerr)
	}
	x.emit(s, "started", nil)
	d, err := x.apply(ctx, s)
	d.index = idx
	status := "done"
	if err != nil {
		status = "failed"
	}
	if jerr := x.journal().StepEnded(context.WithoutCancel(ctx), idx, status, err); jerr != nil && err == nil {
		err = fmt.Errorf("journaling step: %w", jerr)
	}
	x.emit(s, status, err)
	return d, err
}

func (x *Executor) apply(ctx context.Context, s strategies.Step) (done, error) {
	d := done{step: s}
	var err error
	switch s.Action {
	case strategies.ActionEnsureNetwork:
		d.created, err = x.Engine.CreateNetwork(ctx, *s.Network)
	case strategies.ActionEnsureVolume:
		d.created, err = x.Engine.CreateVolume(ctx, *s.Volume)
	case strategies.ActionCheckNetwork:
		err = x.checkExists(ctx, "network", s.Name, func(ctx context.Context) ([]string, error) {
			nets, err := x.Engine.ListNetworks(ctx, nil)
			names := make([]string, len(nets))
			for i, n := range nets {
				names[i] = n.Name
			}
			return names, err
		})
	case strategies.ActionCheckVolume:
		err = x.checkExists(ctx, "volume", s.Name, func(ctx context.Context) ([]string, error) {
			vols, err := x.Engine.ListVolumes(ctx, nil)
			names := make([]string, len(vols))
			for i, v := range vols {
				names[i] = v.Name
			}
			return names, err
		})
	case strategies.ActionCreate:
		_, err = x.Engine.CreateContainer(ctx, *s.Spec)
	case strategies.ActionStart:
		err = x.Engine.StartContainer(ctx, s.Container)
	case strategies.ActionStop:
		err = x.Engine.StopContainer(ctx, s.Container, s.StopTimeout)
	case strategies.ActionRename:
		err = x.Engine.RenameContainer(ctx, s.Container, s.NewName)
	case strategies.ActionRemove:
		err = x.Engine.RemoveContainer(ctx, s.Container, true)
	case strategies.ActionRemoveNetwork:
		err = x.Engine.RemoveNetwork(ctx, s.Name)
	case strategies.ActionRemoveVolume:
		err = x.Engine.RemoveVolume(ctx, s.Name)
	case strategies.ActionWaitReady:
		err = x.waitReady(ctx, s.Container, s.Ready)
	case strategies.ActionMonitor:
		err = x.monitor(ctx, s.Containers, s.Duration)
	case strategies.ActionEnsureRoute, strategies.ActionRemoveRoute, strategies.ActionCheckTargets,
		strategies.ActionSwitch, strategies.ActionRouteAdd, strategies.ActionRouteDrain:
		err = x.applyRoute(ctx, s, &d)
	case strategies.ActionVerify:
		err = x.verify(ctx, s)
	case strategies.ActionSplit:
		err = x.applySplit(ctx, s, &d)
	case strategies.ActionPause:
		err = x.pause(ctx, s)
	case ActionKeepOld:
		err = x.keepOld(ctx, s)
	case strategies.ActionSleep:
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(s.Duration):
		}
	default:
		err = fmt.Errorf("unknown action %q", s.Action)
	}
	return d, err
}

func (x *Executor) checkExists(ctx context.Context, kind, name string, list func(context.Context) ([]string, error)) error {
	names, err := list(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("external %s %q does not exist: create it first: %w", kind, name, engine.ErrNotFound)
}

// readyPolicies maps each service to the readiness policy its wait-ready
// steps use, so containers restarted by an undo are held to the same gate.
func readyPolicies(steps []strategies.Step) map[string]strategies.ReadyPolicy {
	out := map[string]strategies.ReadyPolicy{}
	for _, s := range steps {
		if s.Action == strategies.ActionWaitReady {
			if _, ok := out[s.Service]; !ok {
				out[s.Service] = s.Ready
			}
		}
	}
	return out
}

// undo reverts ran in reverse order with a context that survives
// cancellation of the deploy (an aborted deploy must still be undone).
// Containers it starts again must pass their service's readiness gate
// (min_ready, HTTP probe, healthcheck) before the undo reports.
func (x *Executor) undo(ctx context.Context, ran []done, ready map[string]strategies.ReadyPolicy) error {
	timeout := x.UndoTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	var restarted []strategies.Step
	for i := len(ran) - 1; i >= 0; i-- {
		if ran[i].step.Route != nil {
			if err := x.undoRoute(uctx, ran[i]); err != nil {
				errs = append(errs, fmt.Errorf("undo %s %s: %w", ran[i].step.Action, ran[i].step.Target(), err))
			} else if jerr := x.journal().StepEnded(uctx, ran[i].index, "undone", nil); jerr != nil {
				errs = append(errs, fmt.Errorf("journaling undo of %s %s: %w", ran[i].step.Action, ran[i].step.Target(), jerr))
			}
			continue
		}
		inverse, ok := inverseOf(ran[i])
		if !ok {
			continue
		}
		if _, err := x.runStep(uctx, inverse); err != nil && !errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, fmt.Errorf("%s %s: %w", inverse.Action, inverse.Target(), err))
		} else if jerr := x.journal().StepEnded(uctx, ran[i].index, "undone", nil); jerr != nil {
			// The journal must say what was reverted, for whoever reads it after a restart.
			errs = append(errs, fmt.Errorf("journaling undo of %s %s: %w", ran[i].step.Action, ran[i].step.Target(), jerr))
		}
		if ran[i].step.Action == strategies.ActionStop {
			restarted = append(restarted, inverse)
		}
	}
	// The old containers must serve again before the deploy reports.
	for _, s := range restarted {
		policy := ready[s.Service]
		policy.HealthTimeout = max(policy.HealthTimeout, time.Minute)
		wait := strategies.Step{Action: strategies.ActionWaitReady, Service: s.Service, Container: s.Container,
			Ready: policy, Cause: "undo: previous release serves again"}
		if _, err := x.runStep(uctx, wait); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", wait.Action, wait.Target(), err))
		}
	}
	return errors.Join(errs...)
}

// inverseOf returns the step that undoes d, if any.
func inverseOf(d done) (strategies.Step, bool) {
	s := d.step
	inv := strategies.Step{Service: s.Service, Cause: "undo: " + string(s.Action)}
	switch s.Action {
	case strategies.ActionEnsureNetwork:
		if !d.created {
			return inv, false
		}
		inv.Action, inv.Name = strategies.ActionRemoveNetwork, s.Network.Name
	case strategies.ActionEnsureVolume:
		if !d.created {
			return inv, false
		}
		inv.Action, inv.Name = strategies.ActionRemoveVolume, s.Volume.Name
	case strategies.ActionCreate:
		inv.Action, inv.Container = strategies.ActionRemove, s.Spec.Name
	case strategies.ActionStart:
		inv.Action, inv.Container = strategies.ActionStop, s.Container
	case strategies.ActionStop:
		inv.Action, inv.Container = strategies.ActionStart, s.Container
	case strategies.ActionRename:
		inv.Action, inv.Container, inv.NewName = strategies.ActionRename, s.NewName, s.Container
	default:
		return inv, false
	}
	return inv, true
}

func (x *Executor) logs(container string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := x.Engine.ContainerLogs(ctx, container, 20)
	if err != nil {
		return ""
	}
	return out
}

func (x *Executor) emit(s strategies.Step, status string, err error) {
	if x.Observer == nil {
		return
	}
	e := Event{Time: x.now(), Stack: x.Stack, Release: x.Release, Kind: KindStep, Action: string(s.Action),
		Target: s.Target(), Service: s.Service, Cause: s.Cause, Status: status}
	if err != nil {
		e.Error = err.Error()
	}
	x.Observer.Event(e)
	if x.Logger != nil {
		x.Logger.Info("step", "action", s.Action, "target", s.Target(), "status", status, "cause", s.Cause, "error", e.Error)
	}
}

func (x *Executor) journal() Journal {
	if x.Journal == nil {
		return nopJournal{}
	}
	return x.Journal
}

func (x *Executor) now() time.Time {
	if x.Now == nil {
		return time.Now()
	}
	return x.Now()
}

type nopJournal struct{}

func (nopJournal) StepStarted(context.Context, strategies.Step) (int, error) { return 0, nil }
func (nopJournal) StepEnded(context.Context, int, string, error) error       { return nil }
