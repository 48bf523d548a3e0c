// Package registrytest runs a real container registry for tests: Debian's
// docker-registry package (CNCF distribution 2.8), on a private loopback
// port, with its storage in the test's temporary directory, optionally
// with basic (htpasswd) or bearer-token authentication and notification
// endpoints. The Docker engine pushes to it without any daemon
// configuration, because 127.0.0.0/8 registries are always insecure-allowed.
package registrytest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian's docker-registry package installs the registry.
const Binary = "/usr/bin/docker-registry"

// Auth modes for Options.Auth.
const (
	AuthNone  = ""
	AuthBasic = "basic" // htpasswd: the registry answers Basic challenges
	AuthToken = "token" // a token server run by the helper issues bearer tokens
)

// Options configure a test registry.
type Options struct {
	// Auth is AuthNone, AuthBasic or AuthToken. With AuthBasic and
	// AuthToken, Users are the accepted user → password pairs.
	Auth  string
	Users map[string]string
	// Notifications are the registry's notification endpoints.
	Notifications []Endpoint
}

// Endpoint is one entry of the registry's notifications.endpoints.
type Endpoint struct {
	Name    string
	URL     string
	Headers map[string][]string
	// Timeout and Backoff default to 1s and 200ms (the registry's own
	// defaults are slower); Threshold defaults to 1.
	Timeout, Backoff time.Duration
	Threshold        int
}

// Registry is a running registry.
type Registry struct {
	// Addr is host:port, e.g. "127.0.0.1:41234"; image references
	// start with it.
	Addr string
	// Dir holds the configuration, the storage and the registry's log.
	Dir string

	token *tokenServer
}

// Ref returns the image reference "<Addr>/<repo>:<tag>".
func (r *Registry) Ref(repo, tag string) string { return r.Addr + "/" + repo + ":" + tag }

// URL returns the registry's base URL, "http://<Addr>".
func (r *Registry) URL() string { return "http://" + r.Addr }

// TokenRequests reports how many tokens the token server issued (AuthToken only).
func (r *Registry) TokenRequests() int {
	if r.token == nil {
		return 0
	}
	return r.token.issued()
}

// Start runs a registry until the test ends. It fails the test, pointing
// to scripts/deps.sh, when the docker-registry binary is not installed.
func Start(tb testing.TB, opts Options) *Registry {
	tb.Helper()
	if _, err := os.Stat(Binary); err != nil {
		tb.Fatalf("%s not found (%v): install Debian's docker-registry package (scripts/deps.sh does)", Binary, err)
	}
	if opts.Auth != AuthNone && len(opts.Users) == 0 {
		tb.Fatalf("registrytest: Auth %q needs Users", opts.Auth)
	}
	dir := tb.TempDir()
	r := &Registry{Dir: dir}
	cfg, err := r.config(tb, opts)
	if err != nil {
		tb.Fatalf("registrytest: %v", err)
	}
	path := filepath.Join(dir, "config.json") // JSON is YAML
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		tb.Fatalf("registrytest: %v", err)
	}
	if err := r.run(tb, path); err != nil {
		tb.Fatalf("registrytest: %v", err)
	}
	return r
}

// config returns the registry configuration for opts.
func (r *Registry) config(tb testing.TB, opts Options) ([]byte, error) {
	cfg := map[string]any{
		"version": "0.1",
		"log": map[string]any{
			// info: the registry logs the address it listens on.
			"level":     "info",
			"formatter": "json",
			"accesslog": map[string]any{"disabled": true},
		},
		"storage": map[string]any{
			"filesystem": map[string]any{"rootdirectory": filepath.Join(r.Dir, "data")},
			"delete":     map[string]any{"enabled": true},
		},
		"http": map[string]any{
			"addr":   "127.0.0.1:0",
			"secret": "cutover-registrytest",
		},
	}
	switch opts.Auth {
	case AuthNone:
	case AuthBasic:
		path := filepath.Join(r.Dir, "htpasswd")
		if err := writeHtpasswd(path, opts.Users); err != nil {
			return nil, err
		}
		cfg["auth"] = map[string]any{"htpasswd": map[string]any{"realm": "cutover-test", "path": path}}
	case AuthToken:
		ts, err := startTokenServer(tb, r.Dir, opts.Users)
		if err != nil {
			return nil, err
		}
		r.token = ts
		cfg["auth"] = map[string]any{"token": map[string]any{
			"realm":          ts.realm(),
			"service":        tokenService,
			"issuer":         tokenIssuer,
			"rootcertbundle": ts.certPath,
		}}
	default:
		return nil, fmt.Errorf("unknown auth mode %q (known: %q, %q)", opts.Auth, AuthBasic, AuthToken)
	}
	if len(opts.Notifications) > 0 {
		var eps []map[string]any
		for _, e := range opts.Notifications {
			ep := map[string]any{
				"name":      e.Name,
				"url":       e.URL,
				"timeout":   durationOr(e.Timeout, time.Second).String(),
				"backoff":   durationOr(e.Backoff, 200*time.Millisecond).String(),
				"threshold": max(e.Threshold, 1),
			}
			if len(e.Headers) > 0 {
				ep["headers"] = e.Headers
			}
			eps = append(eps, ep)
		}
		cfg["notifications"] = map[string]any{"endpoints": eps}
	}
	return json.MarshalIndent(cfg, "", "  ")
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// run starts the registry, learns its address from its log, waits until
// /v2/ answers and stops it when the test ends.
func (r *Registry) run(tb testing.TB, config string) error {
	logPath := filepath.Join(r.Dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(Binary, "serve", config)
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", Binary, err)
	}

	addr := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		scanLog(stderr, logFile, addr)
	}()
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		wg.Wait() // the log is complete once the process is gone
		logFile.Close()
		exited <- err
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	tb.Cleanup(stop)

	select {
	case a := <-addr:
		r.Addr = a
	case err := <-exited:
		stopped = true
		return fmt.Errorf("docker-registry exited before listening (%v):\n%s", err, tail(logPath))
	case <-time.After(15 * time.Second):
		stop()
		return fmt.Errorf("docker-registry did not report its address within 15s:\n%s", tail(logPath))
	}
	if err := waitReady(tb.Context(), r.URL()+"/v2/"); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(logPath))
	}
	return nil
}

// scanLog copies the registry's log lines to w and sends the address from
// its "listening on 127.0.0.1:PORT" line.
func scanLog(r io.Reader, w io.Writer, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(append(line, '\n'))
		if sent {
			continue
		}
		var entry struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(line, &entry) != nil {
			continue
		}
		if a, ok := strings.CutPrefix(entry.Msg, "listening on "); ok {
			addr <- strings.TrimSpace(a)
			sent = true
		}
	}
	_, _ = io.Copy(w, r)
}

// waitReady polls url until the registry answers (200, or 401 with auth).
func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry not ready: %w", errors.Join(last, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail returns the last lines of the registry's log, for failure messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
