package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/strategies"
)

// The latency windows: a request belongs to a switch when it started
// between windowBefore before the switch step started and windowAfter after
// it ended.
const (
	windowBefore = 100 * time.Millisecond
	windowAfter  = 500 * time.Millisecond
	// switchP99Target is the target for a switch's p99.
	switchP99Target   = 100 * time.Millisecond
	maxFailureSamples = 10
)

// Where a request started, for latency figures.
type zdPeriod int

const (
	periodSwitch  zdPeriod = iota // around a blue-green switch or rollback
	periodRolling                 // around a route-add or route-drain of a rolling deploy
	periodSteady                  // the rest
	numPeriods
)

func (p zdPeriod) String() string {
	return [...]string{"switch windows", "rolling windows", "steady"}[p]
}

// switchFigures are one blue-green switch's timings.
type switchFigures struct {
	op zdOp
	// ready is when the check-targets step ended (the new color passed
	// the proxy's probe); the switch step started at swStart and ended,
	// drain included, at swEnd.
	ready, swStart, swEnd time.Time
	// firstNew and lastOld are the starts of the first request the new
	// version answered and of the last one the old version answered, from
	// ready on (zero when none).
	firstNew, lastOld time.Time
	// lateOld counts requests the old version answered that started after
	// the switch step ended.
	lateOld int
	failed  int
}

// allNew is ready → the start of the last request the old version
// answered, 0 when none started after ready.
func (f switchFigures) allNew() time.Duration {
	if f.lastOld.IsZero() || f.lastOld.Before(f.ready) {
		return 0
	}
	return f.lastOld.Sub(f.ready)
}

// rollFigures are one rolling deploy's figures.
type rollFigures struct {
	op             zdOp
	adds, drains   int
	lastDrainStart time.Time
	lastDrainEnd   time.Time
	firstNew       time.Time
	lastOld        time.Time
	// lateOld counts the old version's answers to requests that started
	// after the deploy returned, of after requests answered then.
	lateOld, after int
	failed         int
}

type zdKindCount struct{ n, failed int }

// zdFailure is one failed request with what the deploy was doing.
type zdFailure struct {
	s       zdSample
	op      string
	lastEvt string
}

// zdLatency is the latency of one request kind in one period.
type zdLatency struct {
	n             int
	p50, p99, max time.Duration
}

type zdReport struct {
	began        time.Time
	stacks       []string
	total        int
	kinds        [numKinds]zdKindCount
	failedBy     [numPeriods][numKinds]int
	failures     []zdFailure
	latency      [numPeriods][numKinds + 1]zdLatency // last column: all fast kinds
	switches     []switchFigures
	rolls        []rollFigures
	missingSteps []string
}

// analyzeZeroDowntime turns the samples (sorted by start) and the deploy
// events into the report.
func analyzeZeroDowntime(samples []zdSample, events []deploy.Event, ops []zdOp, stacks []string, began time.Time) zdReport {
	r := zdReport{began: began, stacks: stacks, total: len(samples)}
	var steps []deploy.Event
	for _, e := range events {
		if e.Kind == deploy.KindStep {
			steps = append(steps, e)
		}
	}
	// Steps of one group run concurrently: their events may arrive a
	// little out of order.
	slices.SortStableFunc(steps, func(a, b deploy.Event) int { return a.Time.Compare(b.Time) })
	loadEnd := time.Now()
	if len(samples) > 0 {
		loadEnd = samples[len(samples)-1].end()
	}
	// bound[i] is where op i's traffic ends: the next operation on its stack.
	bound := make([]time.Time, len(ops))
	for i, op := range ops {
		bound[i] = loadEnd
		for _, next := range ops[i+1:] {
			if next.stack == op.stack {
				bound[i] = next.start
				break
			}
		}
	}

	var switchWin, rollWin []zdInterval
	for i, op := range ops {
		if op.failed {
			r.missingSteps = append(r.missingSteps, fmt.Sprintf("%s (release %d): the call failed", op.name(), op.release))
			continue
		}
		mine := opSteps(steps, op, stacks[op.stack])
		from, to := sampleRange(samples, op.start, bound[i])
		if op.kind == opRolling {
			f := rollFigures{op: op}
			began := map[string]time.Time{} // action and target → step start
			for _, e := range mine {
				if e.Action != string(strategies.ActionRouteAdd) && e.Action != string(strategies.ActionRouteDrain) {
					continue
				}
				if e.Status == "started" {
					began[e.Action+" "+e.Target] = e.Time
				} else if t, ok := began[e.Action+" "+e.Target]; ok {
					rollWin = append(rollWin, zdInterval{t.Add(-windowBefore), e.Time.Add(windowAfter)})
				}
				switch {
				case e.Action == string(strategies.ActionRouteAdd) && e.Status == "done":
					f.adds++
				case e.Action == string(strategies.ActionRouteDrain) && e.Status == "started":
					f.lastDrainStart = e.Time
				case e.Action == string(strategies.ActionRouteDrain) && e.Status == "done":
					f.drains++
					f.lastDrainEnd = e.Time
				}
			}
			for _, s := range samples[from:to] {
				switch {
				case s.stack != op.stack:
				case s.failed():
					f.failed++
				case s.version == op.to && f.firstNew.IsZero():
					f.firstNew = s.start
				case s.version == op.from:
					f.lastOld = s.start
				}
				if !s.failed() && s.stack == op.stack && s.start.After(op.end) {
					f.after++
					if s.version == op.from {
						f.lateOld++
					}
				}
			}
			r.rolls = append(r.rolls, f)
			continue
		}
		f := switchFigures{op: op}
		for _, e := range mine {
			switch {
			case e.Action == string(strategies.ActionCheckTargets) && e.Status == "done":
				f.ready = e.Time
			case e.Action == string(strategies.ActionSwitch) && e.Status == "started":
				f.swStart = e.Time
			case e.Action == string(strategies.ActionSwitch) && e.Status == "done":
				f.swEnd = e.Time
			}
		}
		if f.ready.IsZero() || f.swStart.IsZero() || f.swEnd.IsZero() {
			r.missingSteps = append(r.missingSteps, fmt.Sprintf("%s (release %d): no check-targets and switch steps", op.name(), op.release))
			continue
		}
		switchWin = append(switchWin, zdInterval{f.swStart.Add(-windowBefore), f.swEnd.Add(windowAfter)})
		for _, s := range samples[from:to] {
			switch {
			case s.stack != op.stack:
			case s.failed():
				f.failed++
			case s.start.Before(f.ready):
			case s.version == op.to && f.firstNew.IsZero():
				f.firstNew = s.start
			case s.version == op.from:
				f.lastOld = s.start
				if s.start.After(f.swEnd) {
					f.lateOld++
				}
			}
		}
		r.switches = append(r.switches, f)
	}
	switchWin, rollWin = mergeIntervals(switchWin), mergeIntervals(rollWin)

	var lat [numPeriods][numKinds + 1][]time.Duration
	for _, s := range samples {
		p := periodSteady
		switch {
		case inIntervals(switchWin, s.start):
			p = periodSwitch
		case inIntervals(rollWin, s.start):
			p = periodRolling
		}
		r.kinds[s.kind].n++
		if s.failed() {
			r.kinds[s.kind].failed++
			r.failedBy[p][s.kind]++
			if len(r.failures) < maxFailureSamples {
				r.failures = append(r.failures, zdFailure{s: s, op: opAt(ops, bound, s.start), lastEvt: lastStepBefore(steps, s.end())})
			}
			continue
		}
		l := s.latency
		if s.kind == kindSlow {
			l -= s.delay
		} else {
			lat[p][numKinds] = append(lat[p][numKinds], l)
		}
		lat[p][s.kind] = append(lat[p][s.kind], l)
	}
	for p := range numPeriods {
		for k := range numKinds + 1 {
			r.latency[p][k] = latencyOf(lat[p][k])
		}
	}
	return r
}

// opSteps returns the step events of op's stack during op.
func opSteps(steps []deploy.Event, op zdOp, stack string) []deploy.Event {
	var out []deploy.Event
	for _, e := range steps {
		if e.Stack == stack && !e.Time.Before(op.start) && !e.Time.After(op.end) {
			out = append(out, e)
		}
	}
	return out
}

// sampleRange returns the index range of samples that started in [from, to).
func sampleRange(samples []zdSample, from, to time.Time) (int, int) {
	i := sort.Search(len(samples), func(i int) bool { return !samples[i].start.Before(from) })
	j := sort.Search(len(samples), func(i int) bool { return !samples[i].start.Before(to) })
	return i, max(i, j)
}

// opAt names the operation whose traffic t falls in.
func opAt(ops []zdOp, bound []time.Time, t time.Time) string {
	for i, op := range ops {
		if !t.Before(op.start) && t.Before(bound[i]) {
			if t.After(op.end) {
				return fmt.Sprintf("after %s (%s, release %d)", op.name(), op.label(), op.release)
			}
			return fmt.Sprintf("during %s (%s, release %d)", op.name(), op.label(), op.release)
		}
	}
	return "steady, before the first operation"
}

// lastStepBefore describes the last step event at or before t.
func lastStepBefore(steps []deploy.Event, t time.Time) string {
	i := sort.Search(len(steps), func(i int) bool { return steps[i].Time.After(t) })
	if i == 0 {
		return "no step yet"
	}
	e := steps[i-1]
	return fmt.Sprintf("%s %s %s %s earlier", e.Action, e.Target, e.Status, zdMs(t.Sub(e.Time)))
}

type zdInterval struct{ from, to time.Time }

func mergeIntervals(in []zdInterval) []zdInterval {
	slices.SortFunc(in, func(a, b zdInterval) int { return a.from.Compare(b.from) })
	var out []zdInterval
	for _, w := range in {
		if n := len(out); n > 0 && !w.from.After(out[n-1].to) {
			if w.to.After(out[n-1].to) {
				out[n-1].to = w.to
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// inIntervals reports whether t is in one of the merged, sorted intervals.
func inIntervals(ws []zdInterval, t time.Time) bool {
	i := sort.Search(len(ws), func(i int) bool { return !ws[i].to.Before(t) })
	return i < len(ws) && !t.Before(ws[i].from)
}

func latencyOf(ds []time.Duration) zdLatency {
	if len(ds) == 0 {
		return zdLatency{}
	}
	slices.Sort(ds)
	return zdLatency{n: len(ds), p50: zdPercentile(ds, 50), p99: zdPercentile(ds, 99), max: ds[len(ds)-1]}
}

// zdPercentile is the nearest-rank p-th percentile of sorted ds.
func zdPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func zdMs(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// zdSince is t relative to ref in ms, or "—" when t is zero.
func zdSince(t, ref time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return zdMs(t.Sub(ref))
}

func zdVerdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func (r zdReport) print(out io.Writer) {
	row := func(tw io.Writer, cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	failed := 0
	for _, k := range r.kinds {
		failed += k.failed
	}

	fmt.Fprintf(out, "\nrequests: %d, failed: %d (target 0: %s)\n", r.total, failed, zdVerdict(failed == 0))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row(tw, "kind", "requests", "failed", "in switch windows", "in rolling windows", "steady", "")
	for k := range numKinds {
		c := r.kinds[k]
		row(tw, k.String(), fmt.Sprint(c.n), fmt.Sprint(c.failed), fmt.Sprint(r.failedBy[periodSwitch][k]),
			fmt.Sprint(r.failedBy[periodRolling][k]), fmt.Sprint(r.failedBy[periodSteady][k]), "")
	}
	tw.Flush()
	if failed > 0 {
		fmt.Fprintf(out, "\nfailure samples (first %d of %d; t is from the first deploy's start):\n", len(r.failures), failed)
		for _, f := range r.failures {
			fmt.Fprintf(out, "  t=%.3fs  %s to %s, %s: %s\n      %s; last step event: %s\n",
				f.s.start.Sub(r.began).Seconds(), f.s.kind, r.stacks[f.s.stack], zdMs(f.s.latency), f.s.err, f.op, f.lastEvt)
		}
	}

	fmt.Fprintf(out, "\nlatency of answered requests by start time: switch windows = [switch step start − %s, switch step end + %s]\n", zdMs(windowBefore), zdMs(windowAfter))
	fmt.Fprintln(out, "of every blue-green switch and rollback (the switch step includes the drain); rolling windows = the same around every")
	fmt.Fprintln(out, "route-add / route-drain step; steady = the rest. Slow GETs count latency − the delay they asked for.")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row(tw, "requests", "period", "n", "p50", "p99", "max", "")
	for k := range numKinds + 1 {
		name := "fast (keep-alive, fresh, idle)"
		if k < numKinds {
			name = k.String()
		}
		for p := range numPeriods {
			l := r.latency[p][k]
			if l.n == 0 {
				continue
			}
			row(tw, name, p.String(), fmt.Sprint(l.n), zdMs(l.p50), zdMs(l.p99), zdMs(l.max), "")
		}
	}
	tw.Flush()
	fast := r.latency[periodSwitch][numKinds]
	fmt.Fprintf(out, "fast requests' p99 in switch windows: %s (target ≤ %s: %s); steady p99 %s\n",
		zdMs(fast.p99), zdMs(switchP99Target), zdVerdict(fast.n > 0 && fast.p99 <= switchP99Target), zdMs(r.latency[periodSteady][numKinds].p99))

	if len(r.switches) > 0 {
		fmt.Fprintln(out, "\nper switch (ms; ready = the check-targets step ended: the new color passed the proxy's probe):")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		row(tw, "switch", "release", "versions", "ready→switch start", "switch step", "ready→first new", "ready→all new", "old answers after switch", "failed", "")
		for _, f := range r.switches {
			row(tw, f.op.name(), fmt.Sprint(f.op.release), f.op.label(), zdMs(f.swStart.Sub(f.ready)), zdMs(f.swEnd.Sub(f.swStart)),
				zdSince(f.firstNew, f.ready), zdMs(f.allNew()), fmt.Sprint(f.lateOld), fmt.Sprint(f.failed), "")
		}
		tw.Flush()
		fmt.Fprintln(out, `ready→switch start   between the two step events the executor journals the switch step (one store transaction)
switch step          route lookup, one inspect per new container, the atomic swap (SetTargets), then the wait
                     until the old color drained
ready→first new      to the start of the first request the new version answered
ready→all new        to the start of the last request the old version answered (0 if none started after ready):
                     from then on every new request went to the new color`)
		fmt.Fprintln(out, "\nready→all new across switches (ms; nearest-rank percentiles: below 100 switches, p99 is the max):")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		row(tw, "switches", "n", "min", "p50", "p99", "max", "target p99", "")
		groups := []struct {
			name  string
			kinds []opKind
		}{
			{"blue-green deploys", []opKind{opSwitch, opPreRollback}},
			{"rollbacks", []opKind{opRollback}},
			{"all", []opKind{opSwitch, opPreRollback, opRollback}},
		}
		for _, g := range groups {
			var ds []time.Duration
			for _, f := range r.switches {
				if slices.Contains(g.kinds, f.op.kind) {
					ds = append(ds, f.allNew())
				}
			}
			if len(ds) == 0 {
				continue
			}
			slices.Sort(ds)
			p99 := zdPercentile(ds, 99)
			row(tw, g.name, fmt.Sprint(len(ds)), zdMs(ds[0]), zdMs(zdPercentile(ds, 50)), zdMs(p99), zdMs(ds[len(ds)-1]),
				fmt.Sprintf("≤ %s: %s", zdMs(switchP99Target), zdVerdict(p99 <= switchP99Target)), "")
		}
		tw.Flush()
	}

	if len(r.rolls) > 0 {
		fmt.Fprintln(out, "\nrolling deploys (start-first, batch 1, monitor 0s; confirm not included):")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		row(tw, "deploy", "stack", "release", "versions", "duration", "route-add", "route-drain", "start→first new", "last old − last drain start", "old answers after deploy", "failed", "")
		var durs []time.Duration
		for _, f := range r.rolls {
			d := f.op.end.Sub(f.op.start)
			durs = append(durs, d)
			lastOld := "—"
			if !f.lastOld.IsZero() && !f.lastDrainStart.IsZero() {
				lastOld = zdMs(f.lastOld.Sub(f.lastDrainStart))
			}
			row(tw, f.op.name(), r.stacks[f.op.stack], fmt.Sprint(f.op.release), f.op.label(), fmt.Sprintf("%.2fs", d.Seconds()),
				fmt.Sprint(f.adds), fmt.Sprint(f.drains), zdSince(f.firstNew, f.op.start), lastOld, fmt.Sprintf("%d of %d", f.lateOld, f.after), fmt.Sprint(f.failed), "")
		}
		tw.Flush()
		fmt.Fprintln(out, `start→first new              deploy call start → the first request the new version answered
last old − last drain start  the last request the old version answered, against the last route-drain step's start
old answers after deploy     requests started after the deploy returned that the old version answered, of all
                             answered then (want 0: the old containers left the route)`)
		slices.Sort(durs)
		fmt.Fprintf(out, "rolling deploy duration min/median/max: %.2fs / %.2fs / %.2fs\n",
			durs[0].Seconds(), zdPercentile(durs, 50).Seconds(), durs[len(durs)-1].Seconds())
	}
	for _, m := range r.missingSteps {
		fmt.Fprintln(out, "not measured:", m)
	}
}
