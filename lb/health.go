package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxProbeBody is how much of a probe's answer is read, so that its
// connection can be reused.
const maxProbeBody = 64 << 10

// prober runs one route's health checks against its targets.
type prober struct {
	client *http.Client
}

func newProber() prober {
	return prober{client: &http.Client{
		Transport: newProbeTransport(),
		// Only a 2xx answer passes: a redirect is reported, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// close releases the prober's idle connection.
func (pr prober) close() { pr.client.CloseIdleConnections() }

// Probe checks addr once, directly, as every router's health check does:
// GET h.Path must answer 2xx within h.Timeout, or, when h.Path is "", a
// TCP connection must open. host, when set, is the Host header sent. The
// nginx and dns routers use it to check targets before a switch.
func Probe(ctx context.Context, client *http.Client, addr, host string, h Health) error {
	if h.Timeout <= 0 {
		h.Timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	if h.Path == "" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+h.Path, nil)
	if err != nil {
		return err
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("User-Agent", "cutover-health")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: status %d", h.Path, resp.StatusCode)
	}
	return nil
}

// healthCounter turns probe results into a healthy/unhealthy verdict with
// the route's thresholds.
type healthCounter struct {
	passes, fails int
}

// observe records one probe result and reports the target's health after
// it, given its health before.
func (c *healthCounter) observe(err error, healthy bool, h Health) bool {
	if err == nil {
		c.passes, c.fails = c.passes+1, 0
		return healthy || c.passes >= h.HealthyThreshold
	}
	c.passes, c.fails = 0, c.fails+1
	return healthy && c.fails < h.UnhealthyThreshold
}

// watch probes t every interval until ctx ends, taking it out of rotation
// after UnhealthyThreshold failures in a row and back after
// HealthyThreshold passes. cfg is read before every probe, so an updated
// route applies at once.
func (p *pool) watch(ctx context.Context, t *target) {
	pr := newProber()
	defer pr.close()
	var counter healthCounter
	timer := time.NewTimer(p.config().Health.Interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		cfg := p.config()
		err := Probe(ctx, pr.client, t.addr, cfg.Host, cfg.Health)
		if ctx.Err() != nil {
			return
		}
		was := t.healthy.Load()
		now := counter.observe(err, was, cfg.Health)
		if err != nil {
			t.fail(err)
		} else {
			t.clearError()
		}
		if now != was {
			t.healthy.Store(now)
			if now {
				p.log.Info("target healthy", "target", t.addr)
			} else {
				p.log.Warn("target unhealthy", "target", t.addr, "err", err)
			}
		}
		timer.Reset(cfg.Health.Interval)
	}
}

// await probes addr until it passes HealthyThreshold probes in a row, or
// fails with the last probe error when ctx ends.
func (p *pool) await(ctx context.Context, t *target) error {
	pr := newProber()
	defer pr.close()
	var counter healthCounter
	for {
		cfg := p.config()
		err := Probe(ctx, pr.client, t.addr, cfg.Host, cfg.Health)
		if ctx.Err() != nil {
			last := "no probe finished"
			if e := t.lastErr.Load(); e != nil {
				last = *e
			} else if err != nil {
				last = err.Error()
			}
			return fmt.Errorf("%w: route %s: target %s: %s (%w)", ErrUnhealthy, cfg.Name, t.addr, last, ctx.Err())
		}
		healthy := counter.observe(err, false, cfg.Health)
		t.healthy.Store(healthy)
		if err != nil {
			t.fail(err)
		} else {
			t.clearError()
		}
		if healthy {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Health.Interval):
		}
	}
}

// probeGroup runs the proxy's probe goroutines; once closed it starts no
// more, so that waiting for them is final.
type probeGroup struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs f unless the group is closed.
func (g *probeGroup) Go(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.wg.Go(f)
	}
}

// closeAndWait starts no more probes and waits for the running ones (stop
// them first, by cancelling their context).
func (g *probeGroup) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
