package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb/nginx/nginxtest"
)

// TestNginxRouter_RealEngine deploys a blue-green stack through a real
// nginx with router: nginx, as the CLI does without a daemon: the switch
// to v2 and the rollback to v1 fail no request of a concurrent POST load
// (keep-alive and fresh connections), and a configuration nginx refuses
// fails the release with nginx's own error while nginx keeps serving the
// old color.
func TestNginxRouter_RealEngine(t *testing.T) {
	ng, err := nginxtest.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ng.Stop() })
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	argv := func(a []string) string { b, _ := json.Marshal(a); return string(b) }
	e := newRouterEnv(t, "ng", deploy.MuxConfig{}, func(stack, image string) string {
		return fmt.Sprintf(`name: %s
services:
  web:
    image: %s
    ports: ["%s:%s:8080"]
    deploy: {replicas: 2}
    x-cutover:
      route: {health: /healthz, drain_timeout: 10s}
x-cutover:
  strategy: bluegreen
  router: nginx
  nginx:
    dir: %q
    test: %s
    reload: %s
    pid_file: %q
    error_log: %q
    reload_notice: 200ms
`, stack, image, host, port, ng.Dir, argv(ng.Test()), argv(ng.Reload()), ng.PIDFile, ng.ErrorLog)
	})

	e.mustDeploy("v1", store.StatusActive, "blue")
	mustAnswer(t, addr, "v1")

	load := startPOSTLoad(t, addr, 6, 2)
	e.mustDeploy("v2", store.StatusAwaitingConfirm, "green")
	mustAnswer(t, addr, "v2")
	e.rollback()
	mustAnswer(t, addr, "v1")
	res := load.stop()
	t.Logf("POST load during the switch and the rollback: %d requests, %d failed, answers %v", res.total, res.failed, res.seen)
	if res.failed > 0 {
		t.Errorf("%d of %d POSTs failed during the switch and the rollback; first errors:\n%s", res.failed, res.total, strings.Join(res.errors, "\n"))
	}
	if res.seen["v1"] == 0 || res.seen["v2"] == 0 {
		t.Errorf("the load saw answers %v: it did not span the switch and the rollback", res.seen)
	}
	routes := e.mux.Status()
	if len(routes) != 1 || routes[0].Route.Name != e.stack+"/web" || routes[0].Route.Router != "nginx" || len(routes[0].Targets) != 2 {
		t.Errorf("router status = %+v, want route %s/web on nginx with blue's 2 targets", routes, e.stack)
	}

	// Someone adds a default server of their own on the route's address:
	// nginx refuses the next file (a duplicate default server).
	conflict := filepath.Join(ng.UserDir, "conflict.conf")
	if err := os.WriteFile(conflict, []byte("server { listen "+addr+" default_server; return 500; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.deploy("v2")
	if err := os.Remove(conflict); err != nil { // before cleanup's down, which reloads
		t.Fatal(err)
	}
	switch {
	case err == nil:
		t.Fatal("deploy with a configuration nginx refuses succeeded")
	case !errors.Is(err, deploy.ErrDeployFailed):
		t.Errorf("deploy error %v does not wrap ErrDeployFailed", err)
	case !strings.Contains(err.Error(), "nginx rejected the configuration") || !strings.Contains(err.Error(), "duplicate default server"):
		t.Errorf("deploy error does not say nginx refused the file, in nginx's words: %v", err)
	}
	mustAnswer(t, addr, "v1")
	if n := len(e.running("blue")); n != 2 {
		t.Errorf("after the refused switch %d blue containers run, want 2", n)
	}
	if n := len(e.running("green")); n != 0 {
		t.Errorf("after the refused switch %d green containers run, want none (undone)", n)
	}
}

// mustAnswer asserts that GET / on addr, each time on a new connection,
// answers 200 with version.
func mustAnswer(t *testing.T, addr, version string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 6 {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("GET http://%s/: %v", addr, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != version {
			t.Fatalf("GET http://%s/ = %d %q, want 200 %q", addr, resp.StatusCode, body, version)
		}
	}
}

// postLoad is clients sending POSTs in a loop: POST is what a client does
// not send again on a connection closed under it, so every failure a
// switch causes is counted.
type postLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex
	res loadResult
}

type loadResult struct {
	total, failed int
	errors        []string
	seen          map[string]int
}

// startPOSTLoad runs keepAlive clients that reuse one connection each and
// fresh clients that open one per request, against addr.
func startPOSTLoad(t *testing.T, addr string, keepAlive, fresh int) *postLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &postLoad{cancel: cancel, res: loadResult{seen: map[string]int{}}}
	client := func(reuse bool) {
		tr := &http.Transport{DisableKeepAlives: !reuse, MaxIdleConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/", strings.NewReader("x"))
			resp, err := c.Do(req)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
				}
			}
			if ctx.Err() != nil {
				return // stopped mid-request: not the switch's doing
			}
			l.record(strings.TrimSpace(string(body)), reuse, err)
			time.Sleep(2 * time.Millisecond)
		}
	}
	for i := range keepAlive + fresh {
		l.wg.Go(func() { client(i < keepAlive) })
	}
	t.Cleanup(func() { l.stop() })
	return l
}

func (l *postLoad) record(body string, reuse bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.total++
	if err != nil {
		l.res.failed++
		if len(l.res.errors) < 10 {
			l.res.errors = append(l.res.errors, fmt.Sprintf("keep-alive %v: %v", reuse, err))
		}
		return
	}
	l.res.seen[body]++
}

// stop ends the load and returns what it saw.
func (l *postLoad) stop() loadResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}
