package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// registryBinary is Debian's docker-registry (CNCF distribution 2.8).
const registryBinary = "/usr/bin/docker-registry"

// benchRegistry is a docker-registry on a free loopback port whose
// notifications go to one endpoint. (internal/registry/registrytest does
// the same for tests; it needs a testing.TB.)
type benchRegistry struct {
	addr   string
	cmd    *exec.Cmd
	exited chan error
	log    string
}

// startBenchRegistry runs the registry with its storage and log in dir,
// notifying hookURL with the Authorization header auth.
func startBenchRegistry(ctx context.Context, dir, hookURL, auth string) (*benchRegistry, error) {
	if _, err := os.Stat(registryBinary); err != nil {
		return nil, fmt.Errorf("%s not found (%v): install Debian's docker-registry package (scripts/deps.sh does)", registryBinary, err)
	}
	cfg := map[string]any{
		"version": "0.1",
		"log":     map[string]any{"level": "info", "formatter": "json", "accesslog": map[string]any{"disabled": true}},
		"storage": map[string]any{"filesystem": map[string]any{"rootdirectory": filepath.Join(dir, "data")}},
		"http":    map[string]any{"addr": "127.0.0.1:0", "secret": "cutover-bench"},
		"notifications": map[string]any{"endpoints": []any{map[string]any{
			"name": "cutover", "url": hookURL, "headers": map[string][]string{"Authorization": {auth}},
			"timeout": "1s", "threshold": 1, "backoff": "200ms",
			"ignore": map[string]any{"actions": []string{"pull"}},
		}}},
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "config.json")
	if err := os.WriteFile(config, data, 0o600); err != nil {
		return nil, err
	}
	r := &benchRegistry{log: filepath.Join(dir, "registry.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(r.log)
	if err != nil {
		return nil, err
	}
	r.cmd = exec.Command(registryBinary, "serve", config)
	r.cmd.Stdout = logFile
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := r.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", registryBinary, err)
	}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			var entry struct {
				Msg string `json:"msg"`
			}
			if !sent && json.Unmarshal(line, &entry) == nil {
				if a, ok := strings.CutPrefix(entry.Msg, "listening on "); ok {
					addr <- strings.TrimSpace(a)
					sent = true
				}
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	go func() {
		err := r.cmd.Wait()
		<-copied
		logFile.Close()
		r.exited <- err
	}()
	select {
	case r.addr = <-addr:
	case err := <-r.exited:
		return nil, fmt.Errorf("docker-registry exited before listening (%v); log in %s", err, r.log)
	case <-time.After(15 * time.Second):
		r.stop()
		return nil, fmt.Errorf("docker-registry did not report its address within 15s; log in %s", r.log)
	case <-ctx.Done():
		r.stop()
		return nil, ctx.Err()
	}
	if err := waitReady(ctx, "http://"+r.addr+"/v2/"); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// stop ends the registry.
func (r *benchRegistry) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}
