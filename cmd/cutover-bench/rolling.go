package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// rollingCompose is the benchmark's stack: one service, rolled start-first
// in batches, gated on the test image's Docker healthcheck (min_ready only
// applies to containers without one), with no monitor window after the last
// batch so the measured roll is just the batches.
const rollingCompose = `x-cutover:
  strategy: rolling
  min_ready: 500ms
  health_timeout: 60s
  rolling:
    monitor: 0s
services:
  web:
    image: %s
    deploy:
      replicas: %d
      update_config:
        parallelism: %d
        order: start-first
`

// runRolling deploys v1, then rolls v1→v2→v1… -runs times (each release
// confirmed before the next, outside the measurement) and prints how long
// each roll took against the time its new containers needed to get ready.
func runRolling(ctx context.Context, out io.Writer, args []string) (err error) {
	fs := flag.NewFlagSet("rolling", flag.ContinueOnError)
	runs := fs.Int("runs", 3, "number of measured rolls (v1→v2, v2→v1, …)")
	replicas := fs.Int("replicas", 10, "replicas of the service")
	batch := fs.Int("batch", 2, "batch size (deploy.update_config.parallelism)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *runs < 1 || *replicas < 1 || *batch < 1 || fs.NArg() > 0 {
		return errors.New("-runs, -replicas and -batch must be at least 1, and no arguments follow the flags")
	}

	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	name := "cutover-bench-" + hex.EncodeToString(id)
	tags := [2]string{name + ":v1", name + ":v2"}

	eng, err := docker.New(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	info, err := eng.Ping(ctx)
	if err != nil {
		return err
	}
	builder, err := testimage.NewFromEnv()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", name+"-")
	if err != nil {
		builder.Close()
		return err
	}
	timed := &timedEngine{Engine: eng}
	rec := &recorder{}
	var d *deploy.Deployer
	var imageIDs []string

	// Clean up whatever happened, with a context of its own: ctx may be
	// cancelled (Ctrl-C) by now.
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var errs []error
		if d != nil {
			if _, derr := d.Down(cctx, name, true); derr != nil && !errors.Is(derr, deploy.ErrBadInput) {
				errs = append(errs, fmt.Errorf("cleanup: %w", derr))
			}
		}
		for _, ref := range imageIDs {
			if rerr := builder.Remove(cctx, ref); rerr != nil {
				errs = append(errs, fmt.Errorf("cleanup: %w", rerr))
			}
		}
		errs = append(errs, builder.Close(), os.RemoveAll(tmp))
		err = errors.Join(append([]error{err}, errs...)...)
	}()

	for i, tag := range tags {
		imgID, err := builder.Build(ctx, testimage.Options{Tag: tag, Version: fmt.Sprintf("v%d", i+1), Healthcheck: true})
		if err != nil {
			return err
		}
		imageIDs = append(imageIDs, imgID)
	}
	file := filepath.Join(tmp, "compose.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, rollingCompose, tags[0], *replicas, *batch), 0o644); err != nil {
		return err
	}
	st, err := compose.Load(ctx, compose.LoadOptions{Files: []string{file}, ProjectName: name})
	if err != nil {
		return err
	}
	s, err := store.Open(filepath.Join(tmp, "state"))
	if err != nil {
		return err
	}
	d = &deploy.Deployer{Engine: timed, Store: s, Observer: rec}
	deployTo := func(tag string) (deploy.Result, error) {
		return d.Deploy(ctx, deploy.Request{Stack: st, Strategy: "rolling", Images: map[string]string{"web": tag},
			Trigger: "cutover-bench", Overrides: deploy.Overrides{Pull: "never"}})
	}

	fmt.Fprintf(out, "rolling: %d replicas, batch %d, start-first (monitor 0s), engine %s API %s, %d runs\n",
		*replicas, *batch, info.ServerVersion, info.APIVersion, *runs)
	fmt.Fprintf(out, "stack %s; release 1 deploys %d × v1 (not measured)\n", name, *replicas)
	if _, err := deployTo(tags[0]); err != nil {
		return fmt.Errorf("release 1: %w", err)
	}

	var results []rollStats
	for i := range *runs {
		from, to := i%2, (i+1)%2
		rec.reset()
		timed.reset()
		watch, err := watchHealth(ctx, eng.Client(), name)
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := deployTo(tags[to])
		end := time.Now()
		healthy := watch.stop(*replicas)
		if err != nil {
			return fmt.Errorf("run %d (v%d→v%d): %w", i+1, from+1, to+1, err)
		}
		if res.Release.Status != store.StatusAwaitingConfirm {
			return fmt.Errorf("run %d: release %d ended %s, want %s", i+1, res.Release.Number, res.Release.Status, store.StatusAwaitingConfirm)
		}
		r, err := analyze(rec.take(), start, end, *replicas)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		r.addHealthy(healthy)
		r.release, r.label, r.calls = res.Release.Number, fmt.Sprintf("v%d→v%d", from+1, to+1), timed.take()
		results = append(results, r)
		if _, err := d.Confirm(ctx, name); err != nil {
			return fmt.Errorf("run %d: confirming release %d: %w", i+1, res.Release.Number, err)
		}
		if err := checkRunning(ctx, eng, name, tags[to], *replicas); err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
	}
	printRolling(out, results, *batch)
	return nil
}

// checkRunning verifies that the stack runs exactly n containers, all of image.
func checkRunning(ctx context.Context, eng engine.Engine, stack, image string, n int) error {
	cs, err := eng.ListContainers(ctx, map[string]string{compose.LabelProject: stack})
	if err != nil {
		return err
	}
	running := 0
	for _, c := range cs {
		if c.Image != image {
			return fmt.Errorf("after confirm, container %s runs %s, want %s", c.Name, c.Image, image)
		}
		if c.Running() {
			running++
		}
	}
	if running != n || len(cs) != n {
		return fmt.Errorf("after confirm, %d containers (%d running), want %d running", len(cs), running, n)
	}
	return nil
}

// rollStats are one measured roll's figures.
type rollStats struct {
	release int
	label   string
	wall    time.Duration
	// ready is each new container's start-to-ready time: from its start
	// step starting to its wait-ready step ending.
	ready []time.Duration
	// started is when each new container's start step started; healthy is
	// its start-to-healthy time as the engine reports it (its first
	// health_status: healthy event), when the event came.
	started map[string]time.Time
	healthy []time.Duration
	// batches is each batch's time, from its first create starting to its
	// last step ending.
	batches []time.Duration
	// steps sums step times (started → done) by action; counts counts them.
	steps  map[string]time.Duration
	counts map[string]int
	// before is the Deploy call up to the first step, between the gaps
	// between steps, after the last step to the call's return.
	before, between, after time.Duration
	calls                  map[string]callStat
}

func (r rollStats) sumReady() time.Duration { return sum(r.ready) }

func sum(ds []time.Duration) time.Duration {
	var total time.Duration
	for _, d := range ds {
		total += d
	}
	return total
}

// addHealthy adds the engine's start-to-healthy time of each new container.
func (r *rollStats) addHealthy(healthy map[string]time.Time) {
	for name, t := range r.started {
		if h, ok := healthy[name]; ok && !h.Before(t) {
			r.healthy = append(r.healthy, h.Sub(t))
		}
	}
}

// analyze turns the events of one Deploy call into its figures. A batch's
// steps of one action run concurrently, so steps are matched by action and
// target; "between" counts only time when no step was running.
func analyze(events []deploy.Event, start, end time.Time, replicas int) (rollStats, error) {
	r := rollStats{wall: end.Sub(start), steps: map[string]time.Duration{}, counts: map[string]int{}, started: map[string]time.Time{}}
	started := r.started
	open := map[string]time.Time{} // action+target → started
	var lastDone, batchStart time.Time
	prevAction := ""
	endBatch := func() {
		if !batchStart.IsZero() {
			r.batches = append(r.batches, lastDone.Sub(batchStart))
		}
	}
	for _, e := range events {
		if e.Kind != deploy.KindStep {
			continue
		}
		switch e.Status {
		case "started":
			switch {
			case lastDone.IsZero() && len(open) == 0:
				r.before = e.Time.Sub(start)
			case len(open) == 0:
				r.between += e.Time.Sub(lastDone)
			}
			if e.Action == "create" && prevAction != "create" {
				endBatch()
				batchStart = e.Time
			}
			if e.Action == "start" {
				started[e.Target] = e.Time
			}
			open[e.Action+" "+e.Target], prevAction = e.Time, e.Action
		case "done":
			began, ok := open[e.Action+" "+e.Target]
			if !ok {
				return r, fmt.Errorf("step %s %s ended without starting", e.Action, e.Target)
			}
			delete(open, e.Action+" "+e.Target)
			r.steps[e.Action] += e.Time.Sub(began)
			r.counts[e.Action]++
			if e.Action == "wait-ready" {
				t, ok := started[e.Target]
				if !ok {
					return r, fmt.Errorf("container %s got ready without a start step", e.Target)
				}
				r.ready = append(r.ready, e.Time.Sub(t))
			}
			lastDone = e.Time
		default:
			return r, fmt.Errorf("step %s %s: %s %s", e.Action, e.Target, e.Status, e.Error)
		}
	}
	endBatch()
	if !lastDone.IsZero() {
		r.after = end.Sub(lastDone)
	}
	if len(r.ready) != replicas {
		return r, fmt.Errorf("the roll readied %d new containers, want %d", len(r.ready), replicas)
	}
	return r, nil
}

func printRolling(out io.Writer, rs []rollStats, batch int) {
	sec := func(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }

	row("run", "release", "roll", "roll wall", "sum start→ready", fmt.Sprintf("ideal wall (sum/%d)", batch), "overhead", "overhead %")
	var walls, sums, ideals, overs, pcts []float64
	for i, r := range rs {
		ideal := r.sumReady() / time.Duration(batch)
		over := r.wall - ideal
		pct := 100 * over.Seconds() / r.wall.Seconds()
		row(fmt.Sprint(i+1), fmt.Sprint(r.release), r.label, sec(r.wall), sec(r.sumReady()), sec(ideal), sec(over), fmt.Sprintf("%.1f%%", pct))
		walls, sums = append(walls, r.wall.Seconds()), append(sums, r.sumReady().Seconds())
		ideals, overs, pcts = append(ideals, ideal.Seconds()), append(overs, over.Seconds()), append(pcts, pct)
	}
	for _, agg := range []struct {
		name string
		f    func([]float64) float64
	}{{"min", slices.Min[[]float64]}, {"median", median}, {"max", slices.Max[[]float64]}} {
		s := func(xs []float64) string { return fmt.Sprintf("%.3fs", agg.f(xs)) }
		row(agg.name, "", "", s(walls), s(sums), s(ideals), s(overs), fmt.Sprintf("%.1f%%", agg.f(pcts)))
	}
	tw.Flush()
	fmt.Fprintln(out, `
roll wall        the Deploy call of the release: lock, release record, image check, observe, plan,
                 the batches, the awaiting-confirm record (confirm runs after it, not measured);
                 monitor is 0s, so no watch window follows the last batch
start→ready      per new container, its start step starting → its wait-ready step ending
                 (gated on the image's HEALTHCHECK, probed every 250ms; cutover polls every 100ms)
ideal wall       sum start→ready / batch size: the roll's time if each batch's containers started
                 together and nothing but getting ready took time
overhead         roll wall − ideal wall; overhead % is its share of roll wall`)

	fmt.Fprintln(out, "\nper run: new containers' start→ready (cutover) against start→healthy (the engine's health_status")
	fmt.Fprintln(out, "event), min/median/max per container and sum; the ideal wall and overhead on the engine's figure; each batch")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := []string{"run", "start→ready", "sum", "start→healthy", "sum", fmt.Sprintf("ideal wall (sum/%d)", batch), "overhead"}
	for i := range rs[0].batches {
		head = append(head, fmt.Sprintf("batch %d", i+1))
	}
	row(head...)
	for i, r := range rs {
		cells := []string{fmt.Sprint(i + 1), spread(r.ready), sec(r.sumReady())}
		if len(r.healthy) == len(r.ready) {
			ideal := sum(r.healthy) / time.Duration(batch)
			cells = append(cells, spread(r.healthy), sec(sum(r.healthy)), sec(ideal), sec(r.wall-ideal))
		} else {
			cells = append(cells, fmt.Sprintf("%d of %d events", len(r.healthy), len(r.ready)), "", "", "")
		}
		for _, b := range r.batches {
			cells = append(cells, sec(b))
		}
		row(cells...)
	}
	tw.Flush()
	fmt.Fprintln(out, `start→healthy    per new container, its start step starting → the engine's first "health_status: healthy"
                 event for it; start→ready − start→healthy is how late cutover notices, which includes
                 waiting for the batch's other start calls (cutover starts a batch's containers one by one)
batch            a batch's first create starting → its last step (stop, rename) ending`)

	fmt.Fprintln(out, "\nwhere the roll wall time goes (median of the runs; a step's time is its engine calls plus journaling its end; steps of one batch run concurrently, so step times can add up to more than the wall time)")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row("part", "steps", "time", "engine calls in it (median count × method, time)")
	stepTime := func(action string) string {
		return medianOf(rs, func(r rollStats) time.Duration { return r.steps[action] })
	}
	actions := []string{"create", "start", "wait-ready", "stop", "rename"}
	for action := range rs[0].steps {
		if !slices.Contains(actions, action) {
			actions = append(actions, action)
		}
	}
	for _, action := range actions {
		row("step "+action, fmt.Sprint(rs[0].counts[action]), stepTime(action), callsFor(rs, stepCalls[action]))
	}
	row("between steps (journaling each step's start)", "", medianOf(rs, func(r rollStats) time.Duration { return r.between }), "")
	row("before the first step (lock, records, image check, observe, plan)", "", medianOf(rs, func(r rollStats) time.Duration { return r.before }),
		callsFor(rs, []string{"Ping", "InspectImage", "ListContainers", "ListNetworks", "ListVolumes"}))
	row("after the last step (awaiting-confirm record, unlock)", "", medianOf(rs, func(r rollStats) time.Duration { return r.after }), "")
	tw.Flush()
}

// stepCalls names the engine calls each step action makes.
var stepCalls = map[string][]string{
	"create":     {"CreateContainer"},
	"start":      {"StartContainer"},
	"wait-ready": {"InspectContainer"},
	"stop":       {"StopContainer"},
	"rename":     {"RenameContainer"},
}

// callsFor describes the engine calls by method: median count and time.
func callsFor(rs []rollStats, methods []string) string {
	var parts []string
	for _, m := range methods {
		var ns, ds []float64
		for _, r := range rs {
			ns, ds = append(ns, float64(r.calls[m].n)), append(ds, r.calls[m].d.Seconds())
		}
		if median(ns) > 0 {
			parts = append(parts, fmt.Sprintf("%g × %s %.3fs", median(ns), m, median(ds)))
		}
	}
	return strings.Join(parts, ", ")
}

// spread is "min/median/max" of ds, in seconds.
func spread(ds []time.Duration) string {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = d.Seconds()
	}
	return fmt.Sprintf("%.3f/%.3f/%.3fs", slices.Min(xs), median(xs), slices.Max(xs))
}

func medianOf(rs []rollStats, f func(rollStats) time.Duration) string {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r).Seconds()
	}
	return fmt.Sprintf("%.3fs", median(xs))
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// healthWatch records when the engine reports each container of a stack
// healthy, from Docker's event stream: the container's own start-to-ready,
// free of how soon cutover notices.
type healthWatch struct {
	mu      sync.Mutex
	healthy map[string]time.Time // container name → first healthy event
	cancel  context.CancelFunc
	done    chan struct{}
}

func watchHealth(ctx context.Context, cli *client.Client, stack string) (*healthWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &healthWatch{healthy: map[string]time.Time{}, cancel: cancel, done: make(chan struct{})}
	// Events returns once the daemon streams, so no event of the roll is missed.
	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("label", compose.LabelProject+"="+stack))})
	select {
	case err := <-errs:
		cancel()
		return nil, fmt.Errorf("watching docker events: %w", err)
	default:
	}
	go func() {
		defer close(w.done)
		for {
			select {
			case m := <-msgs:
				if m.Action != "health_status: healthy" {
					continue
				}
				w.mu.Lock()
				if name := m.Actor.Attributes["name"]; w.healthy[name].IsZero() {
					w.healthy[name] = time.Unix(0, m.TimeNano)
				}
				w.mu.Unlock()
			case <-errs:
				return
			}
		}
	}()
	return w, nil
}

// stop waits up to 2 s for n healthy events (they may trail the deploy),
// stops watching and returns what it saw.
func (w *healthWatch) stop(n int) map[string]time.Time {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		w.mu.Lock()
		seen := len(w.healthy)
		w.mu.Unlock()
		if seen >= n {
			break
		}
	}
	w.cancel()
	<-w.done
	return w.healthy
}

// recorder keeps the deploy events it observes.
type recorder struct {
	mu     sync.Mutex
	events []deploy.Event
}

func (r *recorder) Event(e deploy.Event) {
	if e.Kind == deploy.KindMessage && e.Status == "warning" {
		fmt.Fprintln(os.Stderr, "warning:", e.Message)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) reset() { r.take() }

func (r *recorder) take() []deploy.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	events := r.events
	r.events = nil
	return events
}

// callStat is a number of engine calls and their total time.
type callStat struct {
	n int
	d time.Duration
}

// timedEngine times the engine calls a roll makes, by method.
type timedEngine struct {
	engine.Engine
	mu    sync.Mutex
	calls map[string]callStat
}

func (e *timedEngine) record(method string, start time.Time) {
	d := time.Since(start)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls == nil {
		e.calls = map[string]callStat{}
	}
	c := e.calls[method]
	e.calls[method] = callStat{c.n + 1, c.d + d}
}

func (e *timedEngine) reset() { e.take() }

func (e *timedEngine) take() map[string]callStat {
	e.mu.Lock()
	defer e.mu.Unlock()
	calls := e.calls
	e.calls = nil
	return calls
}

func (e *timedEngine) Ping(ctx context.Context) (engine.Info, error) {
	defer e.record("Ping", time.Now())
	return e.Engine.Ping(ctx)
}

func (e *timedEngine) ListContainers(ctx context.Context, labels map[string]string) ([]engine.Container, error) {
	defer e.record("ListContainers", time.Now())
	return e.Engine.ListContainers(ctx, labels)
}

func (e *timedEngine) InspectContainer(ctx context.Context, name string) (engine.Container, error) {
	defer e.record("InspectContainer", time.Now())
	return e.Engine.InspectContainer(ctx, name)
}

func (e *timedEngine) CreateContainer(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	defer e.record("CreateContainer", time.Now())
	return e.Engine.CreateContainer(ctx, spec)
}

func (e *timedEngine) StartContainer(ctx context.Context, name string) error {
	defer e.record("StartContainer", time.Now())
	return e.Engine.StartContainer(ctx, name)
}

func (e *timedEngine) StopContainer(ctx context.Context, name string, timeout *time.Duration) error {
	defer e.record("StopContainer", time.Now())
	return e.Engine.StopContainer(ctx, name, timeout)
}

func (e *timedEngine) RenameContainer(ctx context.Context, name, newName string) error {
	defer e.record("RenameContainer", time.Now())
	return e.Engine.RenameContainer(ctx, name, newName)
}

func (e *timedEngine) ListNetworks(ctx context.Context, labels map[string]string) ([]engine.Network, error) {
	defer e.record("ListNetworks", time.Now())
	return e.Engine.ListNetworks(ctx, labels)
}

func (e *timedEngine) ListVolumes(ctx context.Context, labels map[string]string) ([]engine.Volume, error) {
	defer e.record("ListVolumes", time.Now())
	return e.Engine.ListVolumes(ctx, labels)
}

func (e *timedEngine) InspectImage(ctx context.Context, ref string) (engine.Image, error) {
	defer e.record("InspectImage", time.Now())
	return e.Engine.InspectImage(ctx, ref)
}
