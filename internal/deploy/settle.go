package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
)

// A release awaiting confirmation ends in one of three ways besides
// rollback: confirm makes it active; a new deploy confirms it first; down
// takes the stack away under it. A release that paused (failure_action
// pause) before any of its containers took over has nothing to confirm:
// confirm refuses it, and a new deploy or down records it superseded.

// isPaused reports whether an awaiting release stopped at a failure with
// failure_action pause: awaitConfirm records that failure as its reason,
// which no other awaiting release has.
func isPaused(rel store.Release) bool {
	return rel.Status == store.StatusAwaitingConfirm && rel.Reason != ""
}

// confirmSteps decodes the confirm steps a release stored. For a paused
// release only removals of what the roll really retired are kept: its plan
// listed the <name>_old of every replica it meant to replace, and the roll
// stopped before it made most of them; and it listed the replicas beyond
// the new count, dropped services and old colors, which it would have
// drained and stopped after its batches, so the pause left them running
// and serving. A container that does not exist, or still runs under its
// compose name, is not removed.
func (d *Deployer) confirmSteps(ctx context.Context, rel store.Release) ([]strategies.Step, error) {
	var steps []strategies.Step
	if len(rel.Confirm) > 0 {
		if err := json.Unmarshal(rel.Confirm, &steps); err != nil {
			return nil, fmt.Errorf("reading confirm steps of release %d: %w", rel.Number, err)
		}
	}
	if !isPaused(rel) {
		return steps, nil
	}
	kept := steps[:0]
	for _, s := range steps {
		if s.Action == strategies.ActionRemove {
			c, err := d.Engine.InspectContainer(ctx, s.Container)
			switch {
			case errors.Is(err, engine.ErrNotFound):
				continue
			case err != nil:
				return nil, fmt.Errorf("inspecting %s: %w", s.Container, err)
			case c.Running() && !strategies.IsTemporaryName(c.Name):
				continue // never drained: it still serves
			}
		}
		kept = append(kept, s)
	}
	return kept, nil
}

// pausedRuns is what runs of a paused release: whether any container
// carries it under its compose name (it took over), and the containers of
// its services that do not run it, or run it but are stopped or unhealthy.
type pausedRuns struct {
	tookOver bool
	behind   []string
}

// runsOf looks at the stack's containers under their compose names. A
// container runs the release when it carries its number; a service the
// release changed (some container carries it, or its image differs from
// the release's) has every other container behind.
func (d *Deployer) runsOf(ctx context.Context, rel store.Release) (pausedRuns, error) {
	var out pausedRuns
	cs, err := StackContainers(ctx, d.Engine, rel.Stack)
	if err != nil {
		return out, err
	}
	byService := map[string][]engine.Container{}
	for _, c := range cs {
		if strategies.IsTemporaryName(c.Name) || c.Labels[compose.LabelOneoff] == "True" {
			continue
		}
		svc := c.Labels[compose.LabelService]
		byService[svc] = append(byService[svc], c)
	}
	services := slices.Sorted(maps.Keys(byService))
	for _, svc := range services {
		cs := byService[svc]
		changed := false
		for _, c := range cs {
			if ofRelease(c, rel.Number) {
				changed, out.tookOver = true, true
			} else if img, ok := rel.Images[svc]; ok && !sameImage(c, img) {
				changed = true
			}
		}
		for _, c := range cs {
			switch {
			case ofRelease(c, rel.Number) && !c.Running():
				out.behind = append(out.behind, fmt.Sprintf("%s (release %d) is %s", c.Name, rel.Number, c.State))
			case ofRelease(c, rel.Number) && c.Health == "unhealthy":
				out.behind = append(out.behind, fmt.Sprintf("%s (release %d) is unhealthy", c.Name, rel.Number))
			case !ofRelease(c, rel.Number) && changed:
				out.behind = append(out.behind, fmt.Sprintf("%s still runs release %s (%s)", c.Name, c.Labels[compose.LabelRelease], c.Image))
			}
		}
	}
	return out, nil
}

func ofRelease(c engine.Container, n int) bool {
	got, err := strconv.Atoi(c.Labels[compose.LabelRelease])
	return err == nil && got == n
}

// sameImage reports whether a container runs the image a release recorded
// for its service: by image ID when both are known, else by reference.
func sameImage(c engine.Container, img store.ImageRef) bool {
	if img.ID != "" && c.ImageID != "" {
		return img.ID == c.ImageID
	}
	return c.Image == img.Ref || c.Image == img.Pinned()
}

// refuseEmptyPause is confirm's answer for a paused release of which
// nothing took over: confirming it would record as active a release none
// of whose containers run.
func refuseEmptyPause(rel store.Release) error {
	return BadInput(fmt.Sprintf("release %d of %s paused before any of its containers took over: every container still runs an earlier release, so there is nothing to confirm. "+
		"Roll it back (cutover rollback %s) to remove what it started, or deploy again: the next release replaces it", rel.Number, rel.Stack, rel.Stack))
}

// pausedNote is the note of a paused release once settled: how it ended,
// the failure it paused at and what runs.
func pausedNote(how string, rel store.Release, runs pausedRuns) string {
	note := how + " after it paused at: " + firstLine(rel.Reason)
	if len(runs.behind) > 0 {
		note += "; " + strings.Join(runs.behind, ", ")
	}
	return note
}

// settlement is how a release awaiting confirmation ends when it is
// confirmed, by cutover confirm or by the next deploy, decided before
// anything changes so that --dry-run says and plans the same as the
// deploy.
type settlement struct {
	rel   store.Release
	steps []strategies.Step // its confirm steps (for a paused one, those that still apply)
	// supersede: the release is recorded superseded instead of confirmed
	// (it paused before any of it took over, or its stack is down).
	supersede bool
	note      string
	message   string // what the deploy says it does first
}

// settlementOf decides how rel ends when confirmed; how ("confirmed",
// "confirmed by the next deploy") goes into a paused release's note.
func (d *Deployer) settlementOf(ctx context.Context, rel store.Release, how string) (*settlement, error) {
	b := &settlement{rel: rel, note: rel.Note,
		message: fmt.Sprintf("release %d awaited confirmation: confirming it before the next release", rel.Number)}
	var err error
	if b.steps, err = d.confirmSteps(ctx, rel); err != nil {
		return nil, err
	}
	if !isPaused(rel) {
		return b, nil
	}
	runs, err := d.runsOf(ctx, rel)
	if err != nil {
		return nil, err
	}
	if !runs.tookOver {
		b.supersede = true
		b.note = pausedNote("replaced by the next release", rel, runs)
		b.message = fmt.Sprintf("release %d paused before any of its containers took over: removing what it started; the next release replaces it", rel.Number)
		return b, nil
	}
	b.note = pausedNote(how, rel, runs)
	return b, nil
}

// beforeNext is what a deploy of stack does first with the release
// awaiting confirmation; nil when there is none.
func (d *Deployer) beforeNext(ctx context.Context, stack string) (*settlement, error) {
	waiting, err := d.Store.LatestRelease(ctx, stack, store.StatusAwaitingConfirm)
	if errors.Is(err, store.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading releases of %s: %w", stack, err)
	}
	if rec, err := d.Store.GetStack(ctx, stack); err == nil && rec.Down {
		// Recorded before down settled what it took away: nothing of it runs.
		return &settlement{rel: waiting, supersede: true, note: takenDownNote,
			message: fmt.Sprintf("release %d awaited confirmation on a stack that is down: recording it superseded", waiting.Number)}, nil
	}
	return d.settlementOf(ctx, waiting, "confirmed by the next deploy")
}

// settle runs what b decided: the release's confirm steps, then records it
// active (confirmed) or superseded. Cleanup that fails fails a confirm; it
// is only a warning for a release superseded, which nothing will act on.
func (d *Deployer) settle(ctx context.Context, b *settlement) (store.Release, error) {
	x := d.executor(b.rel.Stack, b.rel.Number, d.logger())
	if err := x.RunConfirm(ctx, b.steps); err != nil {
		if !b.supersede {
			return b.rel, fmt.Errorf("confirming release %d: %w", b.rel.Number, err)
		}
		d.emit(Event{Stack: b.rel.Stack, Release: b.rel.Number, Kind: KindMessage, Status: "warning", Message: "cleanup incomplete: " + err.Error()})
	}
	if b.supersede {
		return d.supersede(ctx, b.rel, b.note)
	}
	if isPaused(b.rel) {
		if err := d.clearReason(ctx, b.rel); err != nil {
			return b.rel, err
		}
	}
	return d.markActive(ctx, b.rel.Stack, b.rel.Number, b.note)
}

// supersede records a release awaiting confirmation superseded without
// its being confirmed: note says why, in place of a paused release's
// failure.
func (d *Deployer) supersede(ctx context.Context, rel store.Release, note string) (store.Release, error) {
	rel, err := d.Store.UpdateRelease(ctx, rel.Stack, rel.Number, func(r *store.Release) error {
		if r.Status != store.StatusAwaitingConfirm {
			return nil // settled meanwhile
		}
		r.Status = store.StatusSuperseded
		r.Note, r.Reason = note, ""
		r.Confirm = nil
		r.AutoConfirmAt = time.Time{}
		if r.FinishedAt.IsZero() {
			r.FinishedAt = d.now()
		}
		return nil
	})
	if err != nil {
		return rel, fmt.Errorf("recording release %d superseded: %w", rel.Number, err)
	}
	d.emit(Event{Stack: rel.Stack, Release: rel.Number, Kind: KindRelease, Status: string(rel.Status), Message: note})
	return rel, nil
}

// clearReason drops a paused release's failure once it is confirmed: the
// release is no longer failed, and its note says where it paused.
func (d *Deployer) clearReason(ctx context.Context, rel store.Release) error {
	if _, err := d.Store.UpdateRelease(ctx, rel.Stack, rel.Number, func(r *store.Release) error { r.Reason = ""; return nil }); err != nil {
		return fmt.Errorf("recording release %d: %w", rel.Number, err)
	}
	return nil
}

// afterConfirm is snap as it will be once steps (confirm steps) ran: what
// they remove is gone, what they stop is stopped. A dry run plans from it,
// as the deploy plans after confirming the release awaiting confirmation.
func afterConfirm(snap strategies.Snapshot, steps []strategies.Step) strategies.Snapshot {
	apply := func(cs []strategies.Observed, s strategies.Step) []strategies.Observed {
		out := make([]strategies.Observed, 0, len(cs))
		for _, c := range cs {
			if c.Name == s.Container {
				if s.Action == strategies.ActionRemove {
					continue
				}
				c.State = "exited"
			}
			out = append(out, c)
		}
		return out
	}
	for _, s := range steps {
		switch s.Action {
		case strategies.ActionRemove, strategies.ActionStop:
			for svc, cs := range snap.Containers {
				if snap.Containers[svc] = apply(cs, s); len(snap.Containers[svc]) == 0 {
					delete(snap.Containers, svc)
				}
			}
			for _, byService := range snap.Colors {
				for svc, cs := range byService {
					if byService[svc] = apply(cs, s); len(byService[svc]) == 0 {
						delete(byService, svc)
					}
				}
			}
		case strategies.ActionRemoveNetwork:
			delete(snap.Networks, s.Name)
		case strategies.ActionRemoveVolume:
			delete(snap.Volumes, s.Name)
		}
	}
	return snap
}
