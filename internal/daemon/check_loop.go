package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/registry"
)

// maxRateLimitBackoff bounds the wait after repeated 429s that name no
// Retry-After.
const maxRateLimitBackoff = time.Hour

// checkLoop is the daemon's periodic check (cutover serve --check-interval):
// every interval it compares the running digests of every stack with the
// registries' and queues a release (trigger "check") for each drifted
// service that has an x-cutover.watch block. It goes through the same
// queue as pushes, so it coalesces with them and waits for a release in
// progress.
type checkLoop struct {
	ops      *Ops
	triggers *triggers
	interval time.Duration
	log      *slog.Logger
	limits   *rateLimits
}

func newCheckLoop(ops *Ops, t *triggers, interval time.Duration, log *slog.Logger) *checkLoop {
	return &checkLoop{ops: ops, triggers: t, interval: interval, log: log, limits: newRateLimits(interval, time.Now)}
}

// run checks every interval until ctx ends; the first check comes one
// interval after the start.
func (c *checkLoop) run(ctx context.Context) {
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.once(ctx)
		}
	}
}

// once runs one check of every stack.
func (c *checkLoop) once(ctx context.Context) {
	stacks, err := c.ops.Store.ListStacks(ctx)
	if err != nil {
		c.log.Warn("periodic check: reading the stacks", "error", err)
		return
	}
	lookup := c.limits.wrap(c.ops.digestLookup())
	for _, rec := range stacks {
		if rec.Down || ctx.Err() != nil {
			continue
		}
		sc, _, _ := c.ops.checkStack(ctx, rec.Name, lookup)
		if sc.Error != "" {
			c.log.Warn("periodic check", "stack", rec.Name, "error", sc.Error)
			continue
		}
		for _, s := range sc.Services {
			switch {
			case s.Status == api.CheckUnknown:
				c.log.Debug("periodic check: digest unknown", "stack", rec.Name, "service", s.Service, "image", s.Image, "reason", s.Reason)
			case s.Status != api.CheckDrifted:
			case !s.Watched:
				c.log.Info("periodic check: drifted, not watched (cutover check --apply redeploys it)", "stack", rec.Name, "service", s.Service, "image", s.Image, "registry", s.Registry)
			default:
				ref, err := registry.ParseRef(s.Image)
				if err != nil {
					continue
				}
				c.log.Info("periodic check: drifted", "stack", rec.Name, "service", s.Service, "image", s.Image, "running", s.Running, "registry", s.Registry)
				c.triggers.enqueue(rec.Name, want{service: s.Service, tag: ref.Tag, digest: s.Registry, source: TriggerCheck, at: time.Now()})
			}
		}
	}
}

// rateLimits keeps the periodic check away from registries that answered
// 429: for the Retry-After they sent, else for a wait that starts at the
// check interval and doubles with each 429 in a row (at most an hour). An
// answer without 429 ends the backoff.
type rateLimits struct {
	base time.Duration
	now  func() time.Time

	mu    sync.Mutex
	hosts map[string]rateLimit
}

type rateLimit struct {
	until   time.Time
	strikes int
}

func newRateLimits(base time.Duration, now func() time.Time) *rateLimits {
	return &rateLimits{base: base, now: now, hosts: map[string]rateLimit{}}
}

// wrap guards a digest lookup: a registry in backoff is not asked.
func (l *rateLimits) wrap(lookup func(context.Context, string) (string, error)) func(context.Context, string) (string, error) {
	return func(ctx context.Context, ref string) (string, error) {
		r, err := registry.ParseRef(ref)
		if err != nil {
			return "", err
		}
		if until, ok := l.blocked(r.Host); ok {
			return "", fmt.Errorf("registry %s rate limited the check: not asking it again before %s", r.Host, until.Format(time.RFC3339))
		}
		d, err := lookup(ctx, ref)
		l.record(r.Host, err)
		return d, err
	}
}

// blocked reports whether host is in backoff, and until when.
func (l *rateLimits) blocked(host string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.hosts[host]
	return s.until, ok && l.now().Before(s.until)
}

// record updates host's backoff after an answer.
func (l *rateLimits) record(host string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rl *registry.RateLimitError
	if !errors.As(err, &rl) {
		delete(l.hosts, host)
		return
	}
	s := l.hosts[host]
	s.strikes++
	wait := rl.RetryAfter
	if wait <= 0 {
		wait = l.base
		for i := 1; i < s.strikes && wait < maxRateLimitBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, maxRateLimitBackoff)
	}
	s.until = l.now().Add(wait)
	l.hosts[host] = s
}
