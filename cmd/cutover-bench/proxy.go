package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/cutover/cutover/lb/nginx/nginxtest"
)

// Targets the proxy benchmark prints next to its figures.
const (
	targetThroughputRatio = 0.60
	targetAddedLatency    = 100 * time.Microsecond
)

// benchDepsHint tells how to get the load generator and nginx.
const benchDepsHint = "run scripts/deps.sh (installs the Debian packages wrk and nginx)"

// runProxy measures the built-in proxy's overhead: wrk against the test app
// directly, through lb.Proxy and through nginx, in one run. The proxy runs in
// a process of its own (this binary, re-executed with -serve), so that it
// does not share a Go runtime with anything else; the backend is the
// project's test app, also a process of its own. Nothing is pinned to a
// CPU: the three subjects run under the same conditions, one after the
// other, in an order that rotates each round.
func runProxy(ctx context.Context, out io.Writer, args []string) (err error) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "length of each throughput run")
	latencyDuration := fs.Duration("latency-duration", 5*time.Second, "length of each single-connection latency run")
	connections := fs.Int("connections", 32, "wrk connections of the throughput runs")
	threads := fs.Int("threads", 2, "wrk threads of the throughput runs")
	rounds := fs.Int("rounds", 1, "measure direct, proxy and nginx in turn this many times and report each figure's median (steadier on a busy machine)")
	cpuProfile := fs.String("cpuprofile", "", "write the proxy process's CPU profile to `FILE` (go tool pprof FILE)")
	serve := fs.String("serve", "", "internal: run the proxy in front of `ADDR` and print its address")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *serve != "" {
		return serveProxy(ctx, *serve, *cpuProfile)
	}
	if *duration < time.Second || *latencyDuration < time.Second || *connections < 1 || *threads < 1 || *rounds < 1 || fs.NArg() > 0 {
		return errors.New("-duration and -latency-duration must be at least 1s, -connections, -threads and -rounds at least 1, and no arguments follow the flags")
	}
	if *threads > *connections {
		*threads = *connections
	}

	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk not found: %s", benchDepsHint)
	}
	nginx, err := nginxtest.Find()
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "cutover-bench-proxy-")
	if err != nil {
		return err
	}
	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			err = errors.Join(err, stops[i]())
		}
		err = errors.Join(err, os.RemoveAll(tmp))
	}()

	app, err := buildTestApp(ctx, tmp)
	if err != nil {
		return err
	}
	backend, stop, err := startTestApp(ctx, app, tmp)
	if err != nil {
		return err
	}
	stops = append(stops, stop)
	proxy, stop, err := startProxyProcess(ctx, backend.addr, tmp, *cpuProfile)
	if err != nil {
		return err
	}
	stops = append(stops, stop)
	ngx, stop, err := startNginx(ctx, nginx, backend.addr, tmp)
	if err != nil {
		return err
	}
	stops = append(stops, stop)

	ncpu := runtime.NumCPU()
	fmt.Fprintf(out, "proxy overhead: test app on %s; wrk -t%d -c%d -d%s for throughput, -t1 -c1 -d%s for latency\n",
		backend.addr, *threads, *connections, *duration, *latencyDuration)
	fmt.Fprintf(out, "lb.Proxy in its own process on %s (GOMAXPROCS %s); nginx on %s (worker_processes auto: %d, upstream keepalive 256 like lb.Proxy)\n",
		proxy.addr, gomaxprocsOf(ncpu), ngx.addr, ncpu)
	fmt.Fprintf(out, "%d CPUs, nothing pinned: wrk, the test app and the proxy under test share them, as do other jobs; load average %s at the start\n\n",
		ncpu, loadAverage())

	subjects := []struct {
		name string
		p    process
	}{{"direct", backend}, {"proxy", proxy}, {"nginx", ngx}}
	runs := make([][]wrkPair, len(subjects)) // per subject, one per round
	for round := range *rounds {
		for k := range subjects {
			i := (k + round) % len(subjects) // rotate who goes first
			s := subjects[i]
			r, err := measure(ctx, wrk, s.p, backend, s.name != "direct", *threads, *connections, *duration, *latencyDuration)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			runs[i] = append(runs[i], r)
		}
		if *rounds > 1 {
			fmt.Fprintf(out, "round %d/%d done, load average %s\n", round+1, *rounds, loadAverage())
		}
	}
	results := make([]wrkPair, len(subjects))
	for i := range subjects {
		results[i] = medianPair(runs[i])
	}
	if *rounds > 1 {
		fmt.Fprintf(out, "\nmedians of %d rounds:\n", *rounds)
	}
	printProxyTable(out, []string{subjects[0].name, subjects[1].name, subjects[2].name}, results)
	fmt.Fprintf(out, "load average %s at the end\n", loadAverage())
	return nil
}

// gomaxprocsOf tells the proxy process's GOMAXPROCS: its environment's, or
// the CPU count.
func gomaxprocsOf(ncpu int) string {
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		return v + " from the environment"
	}
	return fmt.Sprintf("%d, the default", ncpu)
}

// measure runs wrk against p: a warm-up, the throughput run (sampling the
// CPU time p and the backend use) and the single-connection run.
func measure(ctx context.Context, wrk string, p, backend process, proxied bool, threads, conns int, d, latencyD time.Duration) (wrkPair, error) {
	url := "http://" + p.addr + "/"
	var r wrkPair
	// Warm up: open the keep-alive connections, let the runtimes grow.
	if _, err := runWrk(ctx, wrk, url, threads, conns, time.Second); err != nil {
		return r, err
	}
	cpu0, back0 := p.cpuTime(), backend.cpuTime()
	var err error
	if r.load, err = runWrk(ctx, wrk, url, threads, conns, d); err != nil {
		return r, err
	}
	cpu1, back1 := p.cpuTime(), backend.cpuTime()
	r.cpu, r.backendCPU = -1, -1
	if n := time.Duration(r.load.requests); n > 0 {
		if proxied && cpu0 >= 0 && cpu1 >= 0 {
			r.cpu = (cpu1 - cpu0) / n
		}
		if back0 >= 0 && back1 >= 0 {
			r.backendCPU = (back1 - back0) / n
		}
	}
	if r.single, err = runWrk(ctx, wrk, url, 1, 1, latencyD); err != nil {
		return r, err
	}
	return r, nil
}

// wrkPair is one subject's figures: under load and at one connection, and
// the CPU time per request of the proxy (-1 for none) and of the backend
// under load.
type wrkPair struct {
	load, single    wrkResult
	cpu, backendCPU time.Duration
}

// medianPair takes the median of each figure over rounds; errors add up.
func medianPair(rs []wrkPair) wrkPair {
	var m wrkPair
	pick := func(get func(wrkPair) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	dur := func(get func(wrkPair) time.Duration) time.Duration {
		return time.Duration(pick(func(r wrkPair) float64 { return float64(get(r)) }))
	}
	m.load.rps = pick(func(r wrkPair) float64 { return r.load.rps })
	m.load.p50 = dur(func(r wrkPair) time.Duration { return r.load.p50 })
	m.load.p99 = dur(func(r wrkPair) time.Duration { return r.load.p99 })
	m.single.rps = pick(func(r wrkPair) float64 { return r.single.rps })
	m.single.p50 = dur(func(r wrkPair) time.Duration { return r.single.p50 })
	m.single.p99 = dur(func(r wrkPair) time.Duration { return r.single.p99 })
	m.cpu = dur(func(r wrkPair) time.Duration { return r.cpu })
	m.backendCPU = dur(func(r wrkPair) time.Duration { return r.backendCPU })
	for _, r := range rs {
		m.load.errors += r.load.errors
		m.single.errors += r.single.errors
	}
	return m
}

func printProxyTable(out io.Writer, names []string, r []wrkPair) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\treq/s\tp50\tp99\tp50 @c1\tp99 @c1\terrors\tvs direct\tCPU/req\tbackend CPU/req\t")
	direct := r[0]
	for i, name := range names {
		ratio := "-"
		if i > 0 && direct.load.rps > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*r[i].load.rps/direct.load.rps)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", name, r[i].load.rps,
			micros(r[i].load.p50), micros(r[i].load.p99), micros(r[i].single.p50), micros(r[i].single.p99),
			r[i].load.errors+r[i].single.errors, ratio, cpuMicros(r[i].cpu), cpuMicros(r[i].backendCPU))
	}
	tw.Flush()
	fmt.Fprintln(out, "(CPU/req: CPU time, user + system, the proxy's process(es) used per request under load; it varies far less with the machine's load than req/s)")
	fmt.Fprintln(out)

	proxy, nginx := r[1], r[2]
	ratio := proxy.load.rps / direct.load.rps
	added := proxy.single.p50 - direct.single.p50
	fmt.Fprintf(out, "proxy throughput: %.0f %% of direct (target ≥ %.0f %%) %s; nginx: %.0f %% of direct\n",
		100*ratio, 100*targetThroughputRatio, meets(ratio >= targetThroughputRatio),
		100*nginx.load.rps/direct.load.rps)
	fmt.Fprintf(out, "p50 added latency at 1 connection: proxy %s (target ≤ %s) %s; nginx %s\n",
		signedMicros(added), micros(targetAddedLatency), meets(added <= targetAddedLatency),
		signedMicros(nginx.single.p50-direct.single.p50))
	if proxy.cpu > 0 && nginx.cpu > 0 {
		fmt.Fprintf(out, "CPU per request under load: proxy %s, nginx %s\n", cpuMicros(proxy.cpu), cpuMicros(nginx.cpu))
	}
	if errs := proxy.load.errors + proxy.single.errors; errs > 0 {
		fmt.Fprintf(out, "proxy: %d socket errors or non-2xx answers\n", errs)
	}
}

func meets(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func micros(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }

func signedMicros(d time.Duration) string { return fmt.Sprintf("%+dµs", d.Microseconds()) }

func cpuMicros(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
}
