package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// probeTimeout bounds one probe, connection and response included.
const probeTimeout = 2 * time.Second

// defaultProbeURL is /healthz on the loopback address at listen's port.
func defaultProbeURL(listen string) string {
	port := "8080"
	if listen != "" {
		if _, p, err := net.SplitHostPort(listen); err == nil && p != "" {
			port = p
		}
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
}

// probe GETs url and succeeds on a 2xx answer.
func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: status %s", url, resp.Status)
	}
	return nil
}
