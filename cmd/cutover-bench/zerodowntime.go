package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
	"github.com/cutover/cutover/lb"
)

// zeroDowntimeCompose is the benchmark's stack: one service routed through
// the proxy on a loopback port (the proxy owns it; the containers publish
// nothing), ready when the app's /healthz answers, rolled start-first one
// container at a time with no monitor window.
const zeroDowntimeCompose = `x-cutover:
  router: proxy
  health_timeout: 60s
  rolling:
    monitor: 0s
services:
  web:
    image: %s
    ports: ["127.0.0.1:%d:8080"]
    deploy:
      replicas: %d
      update_config:
        order: start-first
    x-cutover:
      route:
        health: /healthz
`

// Switch operations the benchmark measures.
type opKind int

const (
	opSwitch      opKind = iota // blue-green deploy, confirmed
	opPreRollback               // blue-green deploy that is then rolled back
	opRollback                  // the rollback: a switch back to the standby color
	opRolling                   // rolling deploy, confirmed
)

func (k opKind) String() string {
	switch k {
	case opSwitch:
		return "switch"
	case opPreRollback:
		return "deploy→rb"
	case opRollback:
		return "rollback"
	case opRolling:
		return "rolling"
	}
	return fmt.Sprintf("op %d", int(k))
}

// zdOp is one measured Deploy or Rollback call.
type zdOp struct {
	kind     opKind
	n        int   // 1-based among operations of its kind
	stack    uint8 // index into the run's stacks
	release  int
	from, to int8 // app versions before and after
	start    time.Time
	end      time.Time
	// failed is set when the call failed or ended in an unexpected state:
	// the operation then only bounds the one before it.
	failed bool
}

func (o zdOp) name() string { return fmt.Sprintf("%s %d", o.kind, o.n) }

func (o zdOp) label() string { return fmt.Sprintf("v%d→v%d", o.from, o.to) }

// zdFlags are the benchmark's settings.
type zdFlags struct {
	switches, rollbacks, rolls int
	replicas                   int
	sameStack                  bool
	settle                     time.Duration
	load                       loadConfig
	proxyLog                   slog.Level
}

func parseZeroDowntimeFlags(args []string) (zdFlags, error) {
	var f zdFlags
	fs := flag.NewFlagSet("zero-downtime", flag.ContinueOnError)
	fs.IntVar(&f.switches, "switches", 20, "blue-green switches: deploy v2, v1, … alternately, each confirmed")
	fs.IntVar(&f.rollbacks, "rollbacks", 20, "rollbacks: deploy blue-green, then roll back (a switch back to the standby color)")
	fs.IntVar(&f.rolls, "rolling", 5, "rolling deploys (alternating versions, each confirmed)")
	fs.IntVar(&f.replicas, "replicas", 2, "replicas of the service")
	fs.BoolVar(&f.sameStack, "rolling-same-stack", false, "roll the blue-green stack itself instead of a second stack of its own")
	fs.DurationVar(&f.settle, "settle", time.Second, "steady traffic before the first and after every operation")
	l := &f.load
	fs.IntVar(&l.keepAlive, "keepalive", 4, "keep-alive connections sending POSTs")
	fs.Float64Var(&l.keepAliveRate, "keepalive-rate", 100, "requests per second on each keep-alive connection")
	fs.IntVar(&l.fresh, "fresh", 2, "clients sending POSTs on a new connection each")
	fs.Float64Var(&l.freshRate, "fresh-rate", 25, "requests per second of each fresh-connection client")
	fs.IntVar(&l.idle, "idle", 2, "keep-alive connections that idle between requests")
	fs.DurationVar(&l.idleEvery, "idle-every", time.Second, "time between two requests of an idle keep-alive connection")
	fs.IntVar(&l.slow, "slow", 2, "keep-alive connections sending slow GETs (/slow?d=200ms…500ms) back to back")
	fs.DurationVar(&l.timeout, "timeout", 10*time.Second, "client timeout of one request (dial to last byte)")
	fs.TextVar(&f.proxyLog, "proxy-log", slog.LevelWarn, "level of the proxy's log on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case f.switches < 0 || f.rollbacks < 0 || f.rolls < 0:
		return f, errors.New("-switches, -rollbacks and -rolling must not be negative")
	case f.replicas < 1:
		return f, errors.New("-replicas must be at least 1")
	case l.keepAlive < 0 || l.fresh < 0 || l.idle < 0 || l.slow < 0 || l.keepAlive+l.fresh+l.idle+l.slow == 0:
		return f, errors.New("-keepalive, -fresh, -idle and -slow must not be negative, and at least one must be set")
	case l.keepAliveRate <= 0 || l.freshRate <= 0 || l.idleEvery <= 0 || l.timeout <= 0 || f.settle < 0:
		return f, errors.New("rates, -idle-every and -timeout must be positive, -settle not negative")
	case fs.NArg() > 0:
		return f, errors.New("no arguments follow the flags")
	}
	return f, nil
}

// zdRun is one run of the benchmark: its stacks, the deployer that switches
// them, the load, and the operations measured so far.
type zdRun struct {
	out    io.Writer
	flags  zdFlags
	d      *deploy.Deployer
	stacks []string         // [0] blue-green; [1] rolling, unless -rolling-same-stack
	loaded []*compose.Stack // by stack
	addrs  []string         // the proxy's listen address, by stack
	tags   [2]string        // image of v1, v2
	ld     *zdLoad
	ops    []zdOp
	// deployed lists the stacks to take down.
	deployed []string
}

// runZeroDowntime runs steady traffic through an in-process proxy while
// releases switch, and prints failed requests and switch timings.
func runZeroDowntime(ctx context.Context, out io.Writer, args []string) (err error) {
	f, err := parseZeroDowntimeFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	name := "cutover-bench-" + hex.EncodeToString(id)
	r := &zdRun{out: out, flags: f, stacks: []string{name}, tags: [2]string{name + ":v1", name + ":v2"}}
	if !f.sameStack && f.rolls > 0 {
		r.stacks = append(r.stacks, name+"-roll")
	}

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
	proxy := lb.NewProxy(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: f.proxyLog})).With("component", "proxy"))
	var imageIDs []string

	// Clean up whatever happened, with a context of its own: ctx may be
	// cancelled (Ctrl-C) by now. The load stops first, so taking the
	// routes down fails no request.
	defer func() {
		if r.ld != nil {
			r.ld.stop()
		}
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var errs []error
		for _, stack := range r.deployed {
			if _, derr := r.d.Down(cctx, stack, true); derr != nil && !errors.Is(derr, deploy.ErrBadInput) {
				errs = append(errs, fmt.Errorf("cleanup: %w", derr))
			}
		}
		if cerr := proxy.Close(cctx); cerr != nil {
			errs = append(errs, fmt.Errorf("cleanup: closing the proxy: %w", cerr))
		}
		for _, ref := range imageIDs {
			if rerr := builder.Remove(cctx, ref); rerr != nil {
				errs = append(errs, fmt.Errorf("cleanup: %w", rerr))
			}
		}
		errs = append(errs, builder.Close(), os.RemoveAll(tmp))
		err = errors.Join(append([]error{err}, errs...)...)
	}()

	r.flags.load.versions = map[string]int8{}
	for i, tag := range r.tags {
		version := fmt.Sprintf("v%d", i+1)
		imgID, err := builder.Build(ctx, testimage.Options{Tag: tag, Version: version})
		if err != nil {
			return err
		}
		imageIDs = append(imageIDs, imgID)
		r.flags.load.versions[version] = int8(i + 1)
	}
	if err := r.writeStacks(ctx, tmp); err != nil {
		return err
	}
	s, err := store.Open(filepath.Join(tmp, "state"))
	if err != nil {
		return err
	}
	rec := &recorder{}
	r.d = &deploy.Deployer{Engine: eng, Store: s, Observer: rec, Router: proxy}

	fmt.Fprintf(out, "zero-downtime: engine %s API %s; in-process lb.Proxy; service web × %d (test app FROM scratch, v1 and v2), routed, health /healthz\n",
		info.ServerVersion, info.APIVersion, f.replicas)
	for i, stack := range r.stacks {
		fmt.Fprintf(out, "stack %s: proxy listens on %s\n", stack, r.addrs[i])
	}
	fmt.Fprintf(out, "load (never retried): %s\n", describeLoad(r.flags.load))
	fmt.Fprintf(out, "sequence: release 1 bluegreen v1 (not measured), %d blue-green switches (deploy, confirm), %d rollbacks (deploy, roll back), %d rolling deploys (%s)\n\n",
		f.switches, f.rollbacks, f.rolls, r.rollingWhere())

	began := time.Now()
	seqErr := r.sequence(ctx)
	if r.ld == nil {
		return seqErr
	}
	samples := r.ld.stop()
	if seqErr != nil {
		// What ran is reported all the same.
		fmt.Fprintf(out, "\nthe run stopped early: %v\nfigures of what ran:\n", seqErr)
	}
	analyzeZeroDowntime(samples, rec.take(), r.ops, r.stacks, began).print(out)
	return seqErr
}

// writeStacks writes and loads each stack's compose file, on a free port.
func (r *zdRun) writeStacks(ctx context.Context, dir string) error {
	r.loaded = make([]*compose.Stack, len(r.stacks))
	r.addrs = make([]string, len(r.stacks))
	for i, stack := range r.stacks {
		port, err := zdFreePort()
		if err != nil {
			return err
		}
		r.addrs[i] = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
		file := filepath.Join(dir, stack+".yaml")
		if err := os.WriteFile(file, fmt.Appendf(nil, zeroDowntimeCompose, r.tags[0], port, r.flags.replicas), 0o644); err != nil {
			return err
		}
		if r.loaded[i], err = compose.Load(ctx, compose.LoadOptions{Files: []string{file}, ProjectName: stack}); err != nil {
			return err
		}
	}
	return nil
}

// sequence deploys release 1, starts the load, then runs the switches,
// the rollbacks and the rolling deploys.
func (r *zdRun) sequence(ctx context.Context) error {
	f := r.flags
	if err := r.release1(ctx, 0, compose.StrategyBlueGreen); err != nil {
		return err
	}
	r.ld = startLoad(ctx, f.load, loadTarget{addr: r.addrs[0]})
	if err := zdPause(ctx, f.settle); err != nil {
		return err
	}
	cur := int8(1) // the version the blue-green stack serves
	for i := range f.switches {
		if err := r.deployOp(ctx, zdOp{kind: opSwitch, n: i + 1, from: cur, to: 3 - cur}, compose.StrategyBlueGreen, true); err != nil {
			return err
		}
		cur = 3 - cur
	}
	for i := range f.rollbacks {
		if err := r.deployOp(ctx, zdOp{kind: opPreRollback, n: i + 1, from: cur, to: 3 - cur}, compose.StrategyBlueGreen, false); err != nil {
			return err
		}
		if _, err := r.measure(zdOp{kind: opRollback, n: i + 1, from: 3 - cur, to: cur}, func() (store.Release, error) {
			return r.d.Rollback(ctx, r.stacks[0])
		}, store.StatusRolledBack); err != nil {
			return err
		}
		fmt.Fprintln(r.out)
		if err := zdPause(ctx, f.settle); err != nil {
			return err
		}
	}
	if f.rolls == 0 {
		return nil
	}
	stack := uint8(0)
	if len(r.stacks) > 1 {
		// A stack of its own, rolled from release 1; the load moves to it
		// once it serves.
		stack, cur = 1, 1
		if err := r.release1(ctx, 1, compose.StrategyRolling); err != nil {
			return err
		}
		r.ld.retarget(loadTarget{addr: r.addrs[1], stack: 1})
		if err := zdPause(ctx, f.settle); err != nil {
			return err
		}
	}
	for i := range f.rolls {
		if err := r.deployOp(ctx, zdOp{kind: opRolling, n: i + 1, stack: stack, from: cur, to: 3 - cur}, compose.StrategyRolling, true); err != nil {
			return err
		}
		cur = 3 - cur
	}
	return nil
}

// deploy deploys version (1 or 2) of a stack.
func (r *zdRun) deploy(ctx context.Context, stack uint8, strategy string, version int8) (deploy.Result, error) {
	return r.d.Deploy(ctx, deploy.Request{Stack: r.loaded[stack], Strategy: strategy, Images: map[string]string{"web": r.tags[version-1]},
		Trigger: "cutover-bench", Overrides: deploy.Overrides{Pull: "never"}})
}

// release1 deploys v1 as a stack's first release, not measured.
func (r *zdRun) release1(ctx context.Context, stack uint8, strategy string) error {
	r.deployed = append(r.deployed, r.stacks[stack])
	start := time.Now()
	res, err := r.deploy(ctx, stack, strategy, 1)
	if err != nil {
		return fmt.Errorf("%s release 1: %w", r.stacks[stack], err)
	}
	if res.Release.Status == store.StatusAwaitingConfirm {
		if _, err := r.d.Confirm(ctx, r.stacks[stack]); err != nil {
			return fmt.Errorf("%s release 1: confirm: %w", r.stacks[stack], err)
		}
	}
	fmt.Fprintf(r.out, "%-12s release %3d  %-6s  %6.2fs  %s (%s %s, not measured)\n", "release 1", res.Release.Number, "v1",
		time.Since(start).Seconds(), res.Release.Status, strategy, r.stacks[stack])
	return nil
}

// measure runs one Deploy (or Rollback) call as an operation; want lists
// the release statuses it may end in. A failed operation is kept too: it
// bounds the traffic of the one before it.
func (r *zdRun) measure(op zdOp, call func() (store.Release, error), want ...store.Status) (store.Release, error) {
	op.start = time.Now()
	rel, err := call()
	op.end = time.Now()
	op.release = rel.Number
	if err == nil && !slices.Contains(want, rel.Status) {
		err = fmt.Errorf("release %d ended %s, want %v", rel.Number, rel.Status, want)
	}
	op.failed = err != nil
	r.ops = append(r.ops, op)
	if err != nil {
		return rel, fmt.Errorf("%s (%s): %w", op.name(), op.label(), err)
	}
	fmt.Fprintf(r.out, "%-12s release %3d  %-6s  %6.2fs  %s", op.name(), rel.Number, op.label(), op.end.Sub(op.start).Seconds(), rel.Status)
	return rel, nil
}

// deployOp measures a deploy of op.to, confirms it when asked and it
// awaits confirmation, then lets steady traffic run.
func (r *zdRun) deployOp(ctx context.Context, op zdOp, strategy string, confirm bool) error {
	rel, err := r.measure(op, func() (store.Release, error) {
		res, err := r.deploy(ctx, op.stack, strategy, op.to)
		return res.Release, err
	}, store.StatusAwaitingConfirm, store.StatusActive)
	if err != nil {
		return err
	}
	if confirm && rel.Status == store.StatusAwaitingConfirm {
		start := time.Now()
		if _, err := r.d.Confirm(ctx, r.stacks[op.stack]); err != nil {
			fmt.Fprintln(r.out)
			return fmt.Errorf("%s: confirm: %w", op.name(), err)
		}
		fmt.Fprintf(r.out, "; confirm %.2fs", time.Since(start).Seconds())
	}
	fmt.Fprintln(r.out)
	return zdPause(ctx, r.flags.settle)
}

func (r *zdRun) rollingWhere() string {
	if len(r.stacks) < 2 {
		return "on the blue-green stack itself"
	}
	return "on stack " + r.stacks[1] + ", deployed rolling from release 1; the load moves to it first"
}

func describeLoad(c loadConfig) string {
	return fmt.Sprintf("%d keep-alive connections × %g POST/s, %d fresh-connection clients × %g POST/s, %d idle keep-alive connections × 1 POST per %s, %d keep-alive connections × slow GET back to back (/slow?d=200…500ms); raw HTTP/1.1, timeout %s",
		c.keepAlive, c.keepAliveRate, c.fresh, c.freshRate, c.idle, c.idleEvery, c.slow, c.timeout)
}

// zdFreePort returns a loopback TCP port nothing listens on right now.
func zdFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// zdPause waits d, or fails when ctx ends first.
func zdPause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
