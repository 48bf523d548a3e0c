package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// canaryEnv is a bgEnv whose stack deploys as a canary: steps 10 % for a
// few seconds, then 50 % until promoted; sticky adds a canary cookie.
func canaryEnv(t *testing.T, firstPause, sticky string) *bgEnv {
	t.Helper()
	e := newBGEnv(t)
	data, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	block := "x-cutover:\n  strategy: canary\n  router: proxy\n  canary:\n    steps:\n      - {weight: 10, pause: " + firstPause + "}\n      - {weight: 50}\n"
	if sticky != "" {
		block += "    sticky: " + sticky + "\n"
	}
	yaml := strings.Replace(string(data), "x-cutover:\n  strategy: bluegreen\n  router: proxy\n", block, 1)
	if err := os.WriteFile(e.file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// share sends n keep-alive requests and returns the fraction answered by
// version; any failure fails the test.
func (e *bgEnv) share(n int, version string, client *http.Client) float64 {
	e.t.Helper()
	hits := 0
	for i := 0; i < n; i++ {
		resp, err := client.Get("http://" + e.addr + "/")
		if err != nil {
			e.t.Fatalf("request %d during the canary: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("request %d during the canary: %d %s", i, resp.StatusCode, body)
		}
		if strings.TrimSpace(string(body)) == version {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

// waitWeight waits until release n records the canary weight w.
func (e *bgEnv) waitWeight(n, w int) {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		rel, err := e.store.GetRelease(context.Background(), e.stack, n)
		if err == nil && rel.Weight == w && rel.Status == store.StatusDeploying {
			return
		}
		if err == nil && !rel.Status.InProgress() {
			e.t.Fatalf("release %d ended %s before reaching %d%%: %s", n, rel.Status, w, rel.Reason)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("release %d never reached %d%% (at %d%%, %s)", n, w, rel.Weight, rel.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deployAsync starts a release of version and returns its outcome later.
func (e *bgEnv) deployAsync(ctx context.Context, version string) <-chan error {
	st, err := compose.Load(e.t.Context(), compose.LoadOptions{Files: []string{e.file}, Env: []string{}})
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(chan error, 1)
	go func() {
		_, err := e.d.Deploy(ctx, deploy.Request{Stack: st, Images: map[string]string{"web": e.images[version]}})
		out <- err
	}()
	return out
}

// TestCanary_RealEngine: the measured share of requests at each step is
// within a few points of its weight; promote ends the pauses; abort sends
// everything back to the serving color and removes the canary's.
func TestCanary_RealEngine(t *testing.T) {
	e := canaryEnv(t, "8s", "")
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	e.mustServe("v1")
	client := &http.Client{Timeout: 10 * time.Second}

	done := e.deployAsync(t.Context(), "v2")
	const n = 1000
	e.waitWeight(2, 10)
	got10 := e.share(n, "v2", client)
	e.waitWeight(2, 50)
	got50 := e.share(n, "v2", client)
	t.Logf("canary shares over %d requests: %.1f%% at weight 10, %.1f%% at weight 50", n, 100*got10, 100*got50)
	if got10 < 0.06 || got10 > 0.14 {
		t.Errorf("at weight 10, v2 answered %.1f%% of %d requests", 100*got10, n)
	}
	if got50 < 0.45 || got50 > 0.55 {
		t.Errorf("at weight 50, v2 answered %.1f%% of %d requests", 100*got50, n)
	}
	// The second step holds until promoted.
	select {
	case err := <-done:
		t.Fatalf("the canary ended before promote: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if _, err := e.d.Promote(t.Context(), e.stack); err != nil {
		t.Fatalf("promote: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("release 2 after promote: %v", err)
	}
	if got := e.share(200, "v2", client); got != 1 {
		t.Errorf("after the switch v2 answered %.1f%%, want 100%%", 100*got)
	}
	if rel, _ := e.store.GetRelease(t.Context(), e.stack, 2); rel.Status != store.StatusAwaitingConfirm || rel.Color != "green" {
		t.Errorf("release 2: %s in %q, want awaiting-confirm in green", rel.Status, rel.Color)
	}
	if _, err := e.d.Confirm(t.Context(), e.stack); err != nil {
		t.Fatalf("confirm: %v", err)
	}

	// Release 3 is aborted at 10 %: all traffic back on v2, no request lost.
	ctx, cancel := context.WithCancel(t.Context())
	done = e.deployAsync(ctx, "v1")
	e.waitWeight(3, 10)
	var wg sync.WaitGroup
	var failures []string
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if code, body, err := e.get("/"); err != nil || code != http.StatusOK {
				failures = append(failures, fmt.Sprintf("%d %q %v", code, body, err))
			}
		}
	})
	cancel()
	err := <-done
	close(stop)
	wg.Wait()
	if !errors.Is(err, context.Canceled) && !errors.Is(err, deploy.ErrDeployFailed) {
		t.Fatalf("aborted release 3: %v", err)
	}
	if len(failures) > 0 {
		t.Errorf("%d failed requests while the canary was aborted, first: %s", len(failures), failures[0])
	}
	if got := e.share(200, "v2", client); got != 1 {
		t.Errorf("after the abort v2 answered %.1f%%, want 100%%", 100*got)
	}
	if rel, _ := e.store.GetRelease(t.Context(), e.stack, 3); rel.Status != store.StatusAborted {
		t.Errorf("release 3: %s, want aborted", rel.Status)
	}
	if cs := e.colorContainers("blue"); len(cs) != 0 {
		t.Errorf("%d containers of the aborted canary's color are left", len(cs))
	}
}

// TestCanary_SickCanaryAborts: a canary that crashes during a step is
// rolled back by itself, recorded failed with the container, its exit code
// and its last log lines, and users never stop getting answers; so is one
// the router's probe takes out while it keeps running.
func TestCanary_SickCanaryAborts(t *testing.T) {
	e := canaryEnv(t, "30s", "")
	crash := strings.Replace(e.images["v1"], ":v1", ":crash", 1)
	testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: crash, Version: "crash", Env: map[string]string{"TESTAPP_CRASH_AFTER": "4s"}})
	e.images["crash"] = crash
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	_, err := e.deploy("crash")
	if !errors.Is(err, deploy.ErrDeployFailed) {
		t.Fatalf("crashing canary: %v, want a failed release", err)
	}
	rel, _ := e.store.GetRelease(t.Context(), e.stack, 2)
	if rel.Status != store.StatusFailed {
		t.Errorf("release 2: %s (%q), want failed", rel.Status, rel.Reason)
	}
	// Whether the pause sees the exit or the router's probe sees the
	// connection refused first, the reason names the container, its exit
	// code and its last log lines.
	for _, want := range []string{"canary container " + e.stack + "-green-web-", "exited with code 3",
		"last log lines of " + e.stack + "-green-web-", "crashing as configured"} {
		if !strings.Contains(rel.Reason, want) {
			t.Errorf("release 2 reason %q does not say %q", rel.Reason, want)
		}
	}
	e.mustServe("v1")
	if cs := e.colorContainers("green"); len(cs) != 0 {
		t.Errorf("%d containers of the failed canary are left", len(cs))
	}

	// A canary that keeps running but fails the router's probe (503) is
	// reported as its container too, with its last log lines.
	sick := strings.Replace(e.images["v1"], ":v1", ":sickens", 1)
	testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: sick, Version: "sickens", Env: map[string]string{"TESTAPP_UNHEALTHY_AFTER": "4s"}})
	e.images["sickens"] = sick
	if _, err := e.deploy("sickens"); !errors.Is(err, deploy.ErrDeployFailed) {
		t.Fatalf("canary failing the probe: %v, want a failed release", err)
	}
	rel, _ = e.store.GetRelease(t.Context(), e.stack, 3)
	for _, want := range []string{"canary container " + e.stack + "-green-web-", "is running at 10% but the router's health probe",
		"last log lines of " + e.stack + "-green-web-", "unhealthy_after=4s"} {
		if !strings.Contains(rel.Reason, want) {
			t.Errorf("release 3 reason %q does not say %q", rel.Reason, want)
		}
	}
	e.mustServe("v1")
}

// TestCanary_StickyCookie: with a sticky cookie each client stays on the
// version it first got, while new clients split by weight.
func TestCanary_StickyCookie(t *testing.T) {
	e := canaryEnv(t, "60s", "{cookie: canary}")
	if _, err := e.deploy("v1"); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := e.deployAsync(ctx, "v2")
	e.waitWeight(2, 10)
	versions := map[string]int{}
	for c := 0; c < 40; c++ {
		jar := &cookieJar{}
		client := &http.Client{Timeout: 10 * time.Second, Jar: jar}
		first := ""
		for i := 0; i < 20; i++ {
			resp, err := client.Get("http://" + e.addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			v := strings.TrimSpace(string(body))
			if first == "" {
				first = v
				versions[v]++
			} else if v != first {
				t.Fatalf("client %d got %s, then %s on request %d: not sticky", c, first, v, i+1)
			}
		}
	}
	t.Logf("first answers of 40 sticky clients: %v", versions)
	if versions["v1"] == 0 {
		t.Errorf("no client landed on v1 at weight 10: %v", versions)
	}
	cancel()
	<-done
}

// cookieJar keeps cookies for one host, enough for one test client.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
}

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		replaced := false
		for i, old := range j.cookies {
			if old.Name == c.Name {
				j.cookies[i], replaced = c, true
			}
		}
		if !replaced {
			j.cookies = append(j.cookies, c)
		}
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*http.Cookie(nil), j.cookies...)
}
