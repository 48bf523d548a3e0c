package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
	dockerregistry "github.com/docker/docker/api/types/registry"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/registry/registrytest"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
	"github.com/cutover/cutover/internal/webhook"
)

// Targets the trigger benchmark reports against.
const (
	triggerTargetP99 = time.Second            // push done → deploy start
	triggerTargetAck = 100 * time.Millisecond // a hook's answer
)

// triggerCompose is the benchmark's stack: one service watching patch
// releases of the registry's web repository.
const triggerCompose = `services:
  web:
    image: %s
    stop_grace_period: 2s
    x-cutover:
      watch: {tags: patch}
x-cutover:
  min_ready: 300ms
  health_timeout: 60s
`

// runTrigger measures the time from a `docker push` to the release it
// triggers: a real registry notifies an in-process daemon's hooks
// listener, and the daemon deploys each pushed tag. It prints
// push-done → deploy-start (the release recorded deploying) and the time
// the hooks listener takes to answer.
func runTrigger(ctx context.Context, out io.Writer, args []string) (err error) {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	pushes := fs.Int("pushes", 20, "pushes of new tags, each deployed before the next")
	acks := fs.Int("acks", 200, "generic hooks posted to time the hooks listener's answer")
	debounce := fs.Duration("debounce", daemon.DefaultDebounce, "the daemon's --trigger-debounce")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *pushes < 1 || *acks < 0 || *debounce < 0 || fs.NArg() > 0 {
		return errors.New("-pushes must be at least 1, -acks and -debounce not negative, and no arguments follow the flags")
	}

	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	name := "cutover-bench-" + hex.EncodeToString(id)
	tmp, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return err
	}
	eng, err := docker.New(ctx)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	info, err := eng.Ping(ctx)
	if err != nil {
		eng.Close()
		os.RemoveAll(tmp)
		return err
	}
	builder, err := testimage.NewFromEnv()
	if err != nil {
		eng.Close()
		os.RemoveAll(tmp)
		return err
	}
	var cleanups []func(context.Context) error
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		errs := []error{err}
		for i := len(cleanups) - 1; i >= 0; i-- {
			errs = append(errs, cleanups[i](cctx))
		}
		errs = append(errs, builder.Close(), eng.Close(), os.RemoveAll(tmp))
		err = errors.Join(errs...)
	}()

	var images [2]string
	for i := range images {
		tag := fmt.Sprintf("%s:v%d", name, i+1)
		if images[i], err = builder.Build(ctx, testimage.Options{Tag: tag, Version: fmt.Sprintf("v%d", i+1), Healthcheck: true}); err != nil {
			return err
		}
		imgID := images[i]
		cleanups = append(cleanups, func(ctx context.Context) error { return builder.Remove(ctx, imgID) })
	}

	// The daemon, its hooks listener, and the registry that notifies it.
	s, err := store.Open(filepath.Join(tmp, "state"))
	if err != nil {
		return err
	}
	starts := newReleaseClock()
	const auth = "Bearer cutover-bench"
	const genericToken = "cutover-bench-generic"
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := daemon.New(daemon.Config{Store: s, Engine: eng, Version: "bench", Logger: logger, Debounce: daemon.DebounceFlag(*debounce),
		Observer: starts, Hooks: daemon.HooksConfig{Listen: "127.0.0.1:0",
			Receiver: webhook.Receiver{RegistryAuthorization: auth, GenericToken: genericToken}}})
	if err != nil {
		return err
	}
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	if err := srv.Start(dctx); err != nil {
		stopDaemon()
		return err
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(dctx) }()
	cleanups = append(cleanups, func(context.Context) error { stopDaemon(); return <-ran })
	reg, err := startBenchRegistry(ctx, filepath.Join(tmp, "registry"), "http://"+srv.HooksAddr()+daemon.HookPathRegistry, auth)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func(context.Context) error { reg.stop(); return nil })

	cl := eng.Client()
	push := func(img, tag string) (string, error) {
		ref := reg.addr + "/web:" + tag
		cleanups = append(cleanups, func(ctx context.Context) error {
			_, err := cl.ImageRemove(ctx, ref, image.RemoveOptions{})
			return err
		})
		return registrytest.Push(ctx, cl, img, ref, dockerregistry.AuthConfig{ServerAddress: reg.addr})
	}

	// Release 1, from the CLI's side (not measured).
	if _, err := push(images[0], "1.0.0"); err != nil {
		return err
	}
	file := filepath.Join(tmp, "compose.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, triggerCompose, reg.addr+"/web:1.0.0"), 0o644); err != nil {
		return err
	}
	st, err := compose.Load(ctx, compose.LoadOptions{Files: []string{file}, ProjectName: name})
	if err != nil {
		return err
	}
	d := &deploy.Deployer{Engine: eng, Store: s}
	if _, err := d.Deploy(ctx, deploy.Request{Stack: st, Trigger: "cutover-bench"}); err != nil {
		return fmt.Errorf("release 1: %w", err)
	}
	cleanups = append(cleanups, func(ctx context.Context) error {
		_, err := d.Down(ctx, name, true)
		return err
	})

	fmt.Fprintf(out, "trigger: %d pushes to docker-registry on %s, each deployed by the daemon's hooks (debounce %s); engine %s API %s\n",
		*pushes, reg.addr, *debounce, info.ServerVersion, info.APIVersion)
	var latencies, pushTimes, deployTimes []time.Duration
	for k := 1; k <= *pushes; k++ {
		tag := fmt.Sprintf("1.0.%d", k)
		release := k + 1
		began := time.Now()
		if _, err := push(images[k%2], tag); err != nil {
			return fmt.Errorf("push %s: %w", tag, err)
		}
		pushed := time.Now()
		started, ended, status, err := starts.wait(ctx, name, release, 2*time.Minute)
		if err != nil {
			return fmt.Errorf("push %s: %w", tag, err)
		}
		if status != string(store.StatusActive) {
			return fmt.Errorf("push %s: release %d ended %s", tag, release, status)
		}
		latencies = append(latencies, started.Sub(pushed))
		pushTimes = append(pushTimes, pushed.Sub(began))
		deployTimes = append(deployTimes, ended.Sub(started))
	}
	lat := dnsStats(latencies)
	fmt.Fprintf(out, "  docker push (engine → registry)  %s\n", dnsStats(pushTimes))
	fmt.Fprintf(out, "  push done → deploy start         %s\n", lat)
	fmt.Fprintf(out, "  deploy start → active            %s\n", dnsStats(deployTimes))
	fmt.Fprintf(out, "  p99 push → deploy start (target ≤ %s): %s\n", triggerTargetP99, dnsVerdict(lat.p99 <= triggerTargetP99))

	if *acks > 0 {
		ackTimes, err := timeAcks(ctx, "http://"+srv.HooksAddr()+daemon.HookPathGeneric, genericToken, *acks)
		if err != nil {
			return err
		}
		a := dnsStats(ackTimes)
		fmt.Fprintf(out, "  hook answered (generic, %d posts) %s\n", *acks, a)
		fmt.Fprintf(out, "  p99 hook answer (target ≤ %s): %s\n", triggerTargetAck, dnsVerdict(a.p99 <= triggerTargetAck))
	}
	return nil
}

// timeAcks posts n generic hooks for a repository no stack runs and times
// each answer (over one keep-alive connection, as a registry sends).
func timeAcks(ctx context.Context, url, token string, n int) ([]time.Duration, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	var out []time.Duration
	for i := range n {
		body := fmt.Appendf(nil, `{"image": "cutover-bench/none", "tag": "ack-%d"}`, i)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, time.Since(start))
		if resp.StatusCode != http.StatusAccepted {
			return nil, fmt.Errorf("hook %d answered %s", i, resp.Status)
		}
	}
	return out, nil
}

// releaseClock records when each release of the daemon's triggered
// releases was recorded deploying and when it ended.
type releaseClock struct {
	mu      sync.Mutex
	changed chan struct{}
	started map[string]time.Time
	ended   map[string]time.Time
	status  map[string]string
}

func newReleaseClock() *releaseClock {
	return &releaseClock{changed: make(chan struct{}), started: map[string]time.Time{}, ended: map[string]time.Time{}, status: map[string]string{}}
}

// Event is the daemon's Observer for the releases it starts.
func (c *releaseClock) Event(e deploy.Event) {
	if e.Kind != deploy.KindRelease {
		return
	}
	now := time.Now() // e.Time is set just before; take ours, on the same clock as the pushes
	key := fmt.Sprintf("%s/%d", e.Stack, e.Release)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch store.Status(e.Status) {
	case store.StatusDeploying:
		c.started[key] = now
	case store.StatusActive, store.StatusAwaitingConfirm, store.StatusFailed, store.StatusAborted:
		c.ended[key] = now
		c.status[key] = e.Status
	default:
		return
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// wait returns when release n of stack started and ended.
func (c *releaseClock) wait(ctx context.Context, stack string, n int, timeout time.Duration) (time.Time, time.Time, string, error) {
	key := fmt.Sprintf("%s/%d", stack, n)
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		started, ok1 := c.started[key]
		ended, ok2 := c.ended[key]
		status := c.status[key]
		changed := c.changed
		c.mu.Unlock()
		if ok1 && ok2 {
			return started, ended, status, nil
		}
		select {
		case <-changed:
		case <-deadline:
			return time.Time{}, time.Time{}, "", fmt.Errorf("release %d of %s did not start and end within %s", n, stack, timeout)
		case <-ctx.Done():
			return time.Time{}, time.Time{}, "", ctx.Err()
		}
	}
}
