package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/engine"

	"github.com/cutover/cutover/strategies"
)

// ErrNotReady is wrapped by every readiness failure.
var ErrNotReady = errors.New("not ready")

// waitReady waits until a container is ready: its HTTP probe answers 2xx
// (routed services, probed every poll), or it is healthy when it has a
// Docker healthcheck, else it has run for MinReady without a restart. It fails as soon
// as the container exits, restarts or turns unhealthy, and at the timeout.
func (x *Executor) waitReady(ctx context.Context, name string, p strategies.ReadyPolicy) error {
	poll := x.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	timeout := p.HealthTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	deadline := x.now().Add(timeout)
	first, err := x.Engine.InspectContainer(ctx, name)
	if err != nil {
		return err
	}
	restarts := first.RestartCount
	// min_ready counts from when the container started, but never from
	// before this wait began: a start the engine took seconds to report
	// (a loaded host) must not count as time the app ran unobserved, or
	// an app that exits on start would pass before it got to exit.
	looked := x.now()
	for {
		c, err := x.Engine.InspectContainer(ctx, name)
		if err != nil {
			return err
		}
		switch {
		case c.State == "exited" || c.State == "dead":
			return fmt.Errorf("container exited with code %d: %w", c.ExitCode, ErrNotReady)
		case c.RestartCount > restarts || c.State == "restarting":
			return fmt.Errorf("container restarted (exit code %d): %w", c.ExitCode, ErrNotReady)
		case c.Health == "unhealthy":
			msg := "health check failed"
			if out := strings.TrimSpace(c.HealthOutput); out != "" {
				msg += ": " + out
			}
			return fmt.Errorf("%s: %w", msg, ErrNotReady)
		case p.Probe != nil && containerIP(c) != "":
			// A routed service is ready when its probe answers, not before.
			if c.Running() && x.probe(ctx, c, p.Probe) {
				return nil
			}
		case c.Health == "healthy":
			return nil
		case c.Health == "" && c.Running() && !c.StartedAt.IsZero() && x.now().Sub(later(c.StartedAt, looked)) >= p.MinReady:
			return nil
		}
		if x.now().After(deadline) {
			state := c.State
			if c.Health != "" {
				state += ", health " + c.Health
			}
			return fmt.Errorf("still %s after %s: %w", state, timeout, ErrNotReady)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// probe GETs the container's probe URL on its first network address.
func (x *Executor) probe(ctx context.Context, c engine.Container, p *strategies.HTTPProbe) bool {
	ip := containerIP(c)
	if ip == "" {
		return false
	}
	client := x.HTTP
	if client == nil {
		client = &http.Client{Timeout: time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(ip, strconv.Itoa(p.Port))+p.Path, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// containerIP is the container's address on its first network, by name.
func containerIP(c engine.Container) string {
	names := make([]string, 0, len(c.Networks))
	for n, ip := range c.Networks {
		if ip != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return c.Networks[names[0]]
}

// monitorFailure names the container a monitor step saw fail.
type monitorFailure struct {
	container string
	err       error
}

func (e *monitorFailure) Error() string { return e.err.Error() }
func (e *monitorFailure) Unwrap() error { return e.err }

// monitor watches containers until each has run for window since it
// started, failing as soon as one exits, restarts or turns unhealthy.
func (x *Executor) monitor(ctx context.Context, names []string, window time.Duration) error {
	poll := x.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	restarts := map[string]int{}
	for _, n := range names {
		c, err := x.Engine.InspectContainer(ctx, n)
		if err != nil {
			return err
		}
		restarts[n] = c.RestartCount
	}
	for {
		settled := true
		for _, n := range names {
			c, err := x.Engine.InspectContainer(ctx, n)
			if err != nil {
				return err
			}
			switch {
			case c.State == "exited" || c.State == "dead":
				return &monitorFailure{n, fmt.Errorf("container %s exited with code %d within the %s monitor window: %w", n, c.ExitCode, window, ErrNotReady)}
			case c.RestartCount > restarts[n] || c.State == "restarting":
				return &monitorFailure{n, fmt.Errorf("container %s restarted within the %s monitor window: %w", n, window, ErrNotReady)}
			case c.Health == "unhealthy":
				return &monitorFailure{n, fmt.Errorf("container %s turned unhealthy within the %s monitor window: %w", n, window, ErrNotReady)}
			}
			if c.StartedAt.IsZero() || x.now().Sub(c.StartedAt) < window {
				settled = false
			}
		}
		if settled {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
