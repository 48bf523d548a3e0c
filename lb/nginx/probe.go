package nginx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/lb"
)

// maxProbeBody is how much of a probe's answer is read.
const maxProbeBody = 64 << 10

// awaitTargets probes every addr every route.Health.Interval until each
// has passed once, or fails when ctx ends, naming each target that did not
// pass and its last error. report gets every result.
func awaitTargets(ctx context.Context, route lb.Route, addrs []string, report func(addr string, err error)) error {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() {
			tick := time.NewTicker(route.Health.Interval)
			defer tick.Stop()
			var last error
			for {
				err := lb.Probe(ctx, client, addr, route.Host, route.Health)
				if err == nil {
					report(addr, nil)
					return
				}
				// A probe that ctx cut short says nothing of the target.
				if ctx.Err() == nil || last == nil {
					last = err
					report(addr, err)
				}
				select {
				case <-ctx.Done():
					errs[i] = fmt.Errorf("%w: route %s: target %s: %v (last probe: %v)", lb.ErrUnhealthy, route.Name, addr, ctx.Err(), last)
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// verifyResult is what the probe through nginx saw.
type verifyResult struct {
	// noticed: nginx answered "Connection: close", as it should while the
	// notice file exists.
	noticed bool
}

// verifyServed probes the route through nginx (a new connection each
// time, so that new workers answer) until an answer carries generation
// gen — and, when the route has targets, is not nginx's 502 or 504, which
// would mean nginx cannot reach them — or timeout passes.
func verifyServed(ctx context.Context, addr string, route lb.Route, gen uint64, hasTargets bool, timeout time.Duration) (verifyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	path := route.Health.Path
	if path == "" {
		path = "/"
	}
	want := strconv.FormatUint(gen, 10)
	tick := time.NewTicker(route.Health.Interval)
	defer tick.Stop()
	var last error
	for {
		res, err := verifyOnce(ctx, client, addr, path, route, want, hasTargets)
		if err == nil {
			return res, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return verifyResult{}, fmt.Errorf("%w: route %s: no answer of generation %s through nginx at %s%s within %s (last: %v)",
				ErrVerify, route.Name, want, addr, path, timeout, last)
		case <-tick.C:
		}
	}
}

func verifyOnce(ctx context.Context, client *http.Client, addr, path string, route lb.Route, want string, hasTargets bool) (verifyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, route.Health.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return verifyResult{}, err
	}
	switch {
	case strings.HasPrefix(route.Host, "*."):
		req.Host = "cutover-verify" + route.Host[1:] // a name the wildcard matches
	case route.Host != "":
		req.Host = route.Host
	}
	req.Header.Set("User-Agent", "cutover-verify")
	resp, err := client.Do(req)
	if err != nil {
		return verifyResult{}, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	got := resp.Header.Get(GenerationHeader)
	if got != want {
		if got == "" {
			return verifyResult{}, fmt.Errorf("status %d without %s", resp.StatusCode, GenerationHeader)
		}
		return verifyResult{}, fmt.Errorf("status %d from generation %s", resp.StatusCode, got)
	}
	if hasTargets && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout) {
		return verifyResult{}, fmt.Errorf("status %d: nginx cannot reach the targets", resp.StatusCode)
	}
	return verifyResult{noticed: resp.Close}, nil
}

// probeAddrFromListen is where to reach nginx for a listen address: the
// address itself, with the unspecified addresses replaced by loopback.
func probeAddrFromListen(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0", "*":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
