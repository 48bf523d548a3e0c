package dns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/lb"
)

// checkTargets probes every target of r until each passes
// r.Health.HealthyThreshold probes in a row, every r.Health.Interval
// (default 50 ms): GET r.Health.Path answering 2xx, or a TCP connect when
// there is no path. It fails when ctx ends, naming each target that did
// not pass and its last error.
func checkTargets(ctx context.Context, r lb.Route, targets []string) error {
	h := r.Health
	h.Interval = durationOr(h.Interval, lb.DefaultProbeInterval)
	h.Timeout = durationOr(h.Timeout, lb.DefaultProbeTimeout)
	h.HealthyThreshold = max(h.HealthyThreshold, lb.DefaultHealthyThreshold)
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		h.Path = "/" + h.Path
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 1},
		// Only a 2xx answer passes: a redirect is reported, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	host := strings.TrimSuffix(r.Host, ".")

	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, addr := range targets {
		wg.Go(func() { errs[i] = awaitTarget(ctx, client, r.Name, addr, host, h) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// awaitTarget probes addr until it passes h.HealthyThreshold probes in a
// row or ctx ends.
func awaitTarget(ctx context.Context, client *http.Client, route, addr, host string, h lb.Health) error {
	passes := 0
	last := errors.New("no probe finished")
	for {
		err := lb.Probe(ctx, client, addr, host, h)
		if ctx.Err() != nil {
			return fmt.Errorf("%w: route %s: target %s: %v (%w)", lb.ErrUnhealthy, route, addr, last, ctx.Err())
		}
		if err != nil {
			passes, last = 0, err
		} else if passes++; passes >= h.HealthyThreshold {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(h.Interval):
		}
	}
}
