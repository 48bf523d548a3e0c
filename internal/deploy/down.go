package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
)

// DownResult lists what Down removed.
type DownResult struct {
	Containers []string `json:"containers"`
	Networks   []string `json:"networks"`
	Volumes    []string `json:"volumes"`
	Routes     []string `json:"routes,omitempty"`
}

// Down stops and removes every container and network of a stack (found by
// label, so it needs no compose file) and, with volumes, its named volumes.
// Release records stay; the stack is marked down, and a release that
// awaited confirmation is recorded superseded (see settleDown).
func (d *Deployer) Down(ctx context.Context, stack string, volumes bool) (DownResult, error) {
	var res DownResult
	if err := d.ping(ctx); err != nil {
		return res, err
	}
	host, _ := os.Hostname()
	lock, err := d.Store.Acquire(ctx, store.Lock{Stack: stack, PID: os.Getpid(), Host: host})
	if err != nil {
		return res, err
	}
	defer d.Store.Release(context.WithoutCancel(ctx), lock) //nolint:errcheck // best effort; a stale lock is detectable

	byStack := map[string]string{compose.LabelProject: stack}
	containers, err := StackContainers(ctx, d.Engine, stack)
	if err != nil {
		return res, err
	}
	var networks []engine.Network
	// The stack's own project and its blue-green colors.
	for _, project := range compose.StackProjects(stack) {
		ns, err := d.Engine.ListNetworks(ctx, map[string]string{compose.LabelProject: project})
		if err != nil {
			return res, fmt.Errorf("listing networks of %s: %w", project, err)
		}
		networks = append(networks, ns...)
	}
	_, known := d.Store.GetStack(ctx, stack)
	if len(containers) == 0 && len(networks) == 0 && errors.Is(known, store.ErrStackNotFound) {
		return res, BadInput(fmt.Sprintf("no stack named %q: nothing runs under that project name and cutover has no record of it", stack))
	}
	var errs []error
	if m, ok := d.Router.(*RouterMux); ok {
		m.UseStored(ctx, stack) // its nginx or RFC 2136 router, to remove its routes
	}
	if d.Router != nil {
		for _, r := range d.Router.Status() {
			if !strings.HasPrefix(r.Route.Name, stack+"/") {
				continue
			}
			if err := d.Router.RemoveRoute(ctx, r.Route.Name); err != nil {
				errs = append(errs, fmt.Errorf("removing route %s: %w", r.Route.Name, err))
				continue
			}
			res.Routes = append(res.Routes, r.Route.Name)
			d.emit(Event{Stack: stack, Kind: KindStep, Action: "remove-route", Target: r.Route.Name, Status: "done"})
		}
	}
	for _, c := range containers {
		if c.Running() {
			if err := d.Engine.StopContainer(ctx, c.Name, nil); err != nil && !errors.Is(err, engine.ErrNotFound) {
				errs = append(errs, err)
				continue
			}
		}
		if err := d.Engine.RemoveContainer(ctx, c.Name, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		res.Containers = append(res.Containers, c.Name)
		d.emit(Event{Stack: stack, Kind: KindStep, Action: "remove", Target: c.Name, Service: c.Labels[compose.LabelService], Status: "done"})
	}
	for _, n := range networks {
		if err := d.Engine.RemoveNetwork(ctx, n.Name); err != nil && !errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		res.Networks = append(res.Networks, n.Name)
		d.emit(Event{Stack: stack, Kind: KindStep, Action: "remove-network", Target: n.Name, Status: "done"})
	}
	if volumes {
		vols, err := d.Engine.ListVolumes(ctx, byStack)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing volumes of %s: %w", stack, err))
		}
		for _, v := range vols {
			if err := d.Engine.RemoveVolume(ctx, v.Name); err != nil && !errors.Is(err, engine.ErrNotFound) {
				errs = append(errs, err)
				continue
			}
			res.Volumes = append(res.Volumes, v.Name)
			d.emit(Event{Stack: stack, Kind: KindStep, Action: "remove-volume", Target: v.Name, Status: "done"})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("taking down %s: %w", stack, err)
	}
	if known == nil {
		if _, err := d.Store.UpdateStack(ctx, stack, func(s *store.Stack) error { s.Down = true; return nil }); err != nil {
			return res, fmt.Errorf("recording stack %s as down: %w", stack, err)
		}
		if err := d.settleDown(ctx, stack); err != nil {
			return res, err
		}
	}
	return res, nil
}

// settleDown ends the release that awaited confirmation when the stack
// went down: it is neither confirmed nor rolled back (nothing of it or of
// the release before it runs), so it is recorded superseded, taken down,
// and confirm and rollback have nothing left to act on. The release that
// served before it stays active, as a serving release does through down:
// it is the last one confirmed.
func (d *Deployer) settleDown(ctx context.Context, stack string) error {
	waiting, err := d.Store.LatestRelease(ctx, stack, store.StatusAwaitingConfirm)
	if errors.Is(err, store.ErrReleaseNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading releases of %s: %w", stack, err)
	}
	note := takenDownNote
	if isPaused(waiting) {
		note += " (it had paused at: " + firstLine(waiting.Reason) + ")"
	}
	_, err = d.supersede(ctx, waiting, note)
	return err
}

// takenDownNote is the note of a release that awaited confirmation when
// its stack went down.
const takenDownNote = "taken down by cutover down while it awaited confirmation"

// downMessage refuses verb on a stack that is down.
func downMessage(stack, verb string) string {
	msg := fmt.Sprintf("stack %s is down (cutover down removed its containers): nothing to %s", stack, verb)
	if verb == "roll back" {
		return msg + fmt.Sprintf("; cutover rollback %s --to N deploys release N again", stack)
	}
	return msg + "; cutover deploy brings it back"
}
