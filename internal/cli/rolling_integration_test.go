package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cutover/cutover/internal/syncbuf"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/cutover/cutover/compose"
)

// webStack is a one-service stack for the rolling tests: `replicas`
// containers of the test app, with small readiness settings so a roll takes
// seconds.
type webStack struct {
	image         string
	replicas      int
	minReady      string   // default 500ms
	healthTimeout string   // default 20s
	monitor       string   // default 1s
	ports         []string // published ports
}

func (s webStack) yaml() string {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	var b strings.Builder
	fmt.Fprintf(&b, "services:\n  web:\n    image: %s\n    stop_grace_period: 2s\n    deploy:\n      replicas: %d\n", s.image, max(s.replicas, 1))
	if len(s.ports) > 0 {
		b.WriteString("    ports:\n")
		for _, p := range s.ports {
			fmt.Fprintf(&b, "      - %q\n", p)
		}
	}
	fmt.Fprintf(&b, "x-cutover:\n  min_ready: %s\n  health_timeout: %s\n  rolling:\n    monitor: %s\n",
		def(s.minReady, "500ms"), def(s.healthTimeout, "20s"), def(s.monitor, "1s"))
	return b.String()
}

// rollRelease is a release as `cutover history -o json` shows it.
type rollRelease struct {
	Number   int    `json:"number"`
	Status   string `json:"status"`
	Strategy string `json:"strategy"`
	Trigger  string `json:"trigger"`
	Reason   string `json:"reason"`
	Images   map[string]struct {
		Ref string `json:"ref"`
	} `json:"images"`
}

// releases returns the stack's releases by number.
func (e *env) releases() map[int]rollRelease {
	e.t.Helper()
	r := e.mustRun("history", e.stack, "-o", "json")
	var list []rollRelease
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		e.t.Fatalf("history json: %v\n%s", err, r.stdout)
	}
	out := map[int]rollRelease{}
	for _, rel := range list {
		out[rel.Number] = rel
	}
	return out
}

// wantStatuses fails the test unless the stack has exactly these releases
// with these statuses.
func (e *env) wantStatuses(want map[int]string) map[int]rollRelease {
	e.t.Helper()
	got := e.releases()
	ok := len(got) == len(want)
	for n, st := range want {
		if got[n].Status != st {
			ok = false
		}
	}
	if !ok {
		have := map[int]string{}
		for n, r := range got {
			have[n] = r.Status
			if r.Reason != "" {
				have[n] += " (" + r.Reason + ")"
			}
		}
		e.t.Fatalf("releases = %v, want %v", have, want)
	}
	return got
}

// statusRelease is the release `cutover status -o json` reports.
func (e *env) statusRelease() (int, string) {
	e.t.Helper()
	var st struct {
		Release struct {
			Number int    `json:"number"`
			Status string `json:"status"`
		} `json:"release"`
	}
	r := e.mustRun("status", e.stack, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		e.t.Fatalf("status json: %v\n%s", err, r.stdout)
	}
	return st.Release.Number, st.Release.Status
}

// wantServing fails the test unless the stack has exactly `replicas`
// containers, all running under their compose names <stack>-web-N and all
// answering version. Stopped or temporary (_old, _new) containers fail it.
func (e *env) wantServing(replicas int, version string) {
	e.t.Helper()
	var want []string
	for n := 1; n <= replicas; n++ {
		want = append(want, fmt.Sprintf("%s-web-%d", e.stack, n))
	}
	all := e.containers()
	var got []string
	for _, c := range all {
		state := c.State
		if c.Running() {
			state = "running"
		}
		got = append(got, c.Name+" "+state)
	}
	if running := names(e.running()); !slices.Equal(running, want) || len(all) != replicas {
		e.t.Fatalf("containers = %v, want exactly %v running", got, want)
	}
	versions := e.versions("web")
	for _, v := range versions {
		if v != version {
			e.t.Fatalf("web answers %v, want %d × %s", versions, replicas, version)
		}
	}
}

// capacity is what the sampler saw during a deploy.
type capacity struct {
	samples    int
	minReady   int
	maxRunning int
	worst      string // the sample with the fewest ready containers
	errs       []error
}

// sampleCapacity samples the stack about every 50 ms until stop is called:
// how many containers run, and how many of those answer GET /healthz with
// 200 on their bridge address, as a load balancer in front of them would.
// A sample is one container list call (the engine's own list-and-inspect
// takes far longer than 50 ms on a busy engine), then all probes at once.
func (e *env) sampleCapacity() (stop func() capacity) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan capacity, 1)
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	opts := container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+e.stack))}
	go func() {
		res := capacity{minReady: -1}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			list, err := e.eng.Client().ContainerList(ctx, opts) // running containers only
			if ctx.Err() != nil {
				done <- res
				return
			}
			if err != nil {
				res.errs = append(res.errs, err)
			} else {
				ready, desc := sampleOnce(ctx, client, list)
				if ctx.Err() != nil {
					done <- res
					return
				}
				res.samples++
				res.maxRunning = max(res.maxRunning, len(list))
				if res.minReady < 0 || ready < res.minReady {
					res.minReady, res.worst = ready, time.Now().Format("15:04:05.000")+" "+desc
				}
			}
			select {
			case <-ctx.Done():
				done <- res
				return
			case <-tick.C:
			}
		}
	}()
	return func() capacity {
		cancel()
		return <-done
	}
}

// sampleOnce probes every listed (running) container at once and returns
// how many answered, and who did.
func sampleOnce(ctx context.Context, client *http.Client, list []container.Summary) (ready int, desc string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var states []string
	for _, c := range list {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		var ip string
		if c.NetworkSettings != nil {
			for _, n := range c.NetworkSettings.Networks {
				if n != nil && n.IPAddress != "" {
					ip = n.IPAddress
					break
				}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := ip != "" && healthz(ctx, client, ip)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				ready++
				states = append(states, name+"=ready")
			} else {
				states = append(states, name+"=running,not answering")
			}
		}()
	}
	wg.Wait()
	sort.Strings(states)
	return ready, strings.Join(states, " ")
}

// healthz reports whether the container answers /healthz with 200. One
// that only answers slowly (a timeout: it is there but starved of CPU on
// a loaded machine) is asked once more with a longer wait; one that
// refuses or resets the connection (stopped, stopping) is not ready.
func healthz(ctx context.Context, client *http.Client, ip string) bool {
	ok, err := healthzOnce(ctx, client, ip)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		patient := *client
		patient.Timeout = 3 * time.Second
		ok, _ = healthzOnce(ctx, &patient, ip)
	}
	return ok
}

func healthzOnce(ctx context.Context, client *http.Client, ip string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(ip, "8080")+"/healthz", nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// wantCapacity fails the test unless at least `floor` containers were ready
// at every sample.
func wantCapacity(t *testing.T, what string, c capacity, floor int) {
	t.Helper()
	for _, err := range c.errs {
		t.Errorf("%s: sampling: %v", what, err)
	}
	if c.samples < 5 {
		t.Fatalf("%s: only %d samples taken", what, c.samples)
	}
	if c.minReady < floor {
		t.Errorf("%s: only %d containers ready at one moment, want at least %d at every sample (%d samples); that moment: %s",
			what, c.minReady, floor, c.samples, c.worst)
	}
	t.Logf("%s: %d samples, at least %d ready, up to %d running", what, c.samples, c.minReady, c.maxRunning)
}

// rollToV2 deploys a 4-replica v1 and rolls it to v2 with batch 2,
// start-first, sampling capacity throughout; release 2 awaits confirmation.
func rollToV2(t *testing.T, e *env) (file, v1, v2 string) {
	t.Helper()
	v1 = e.image("v1", nil, true)
	v2 = e.image("v2", nil, true)
	file = e.writeCompose(webStack{image: v1, replicas: 4}.yaml())
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling")
	e.wantServing(4, "v1")
	e.wantStatuses(map[int]string{1: "active"})

	stop := e.sampleCapacity()
	start := time.Now()
	r := e.run("deploy", "-f", file, "-p", e.stack, "--image", "web="+v2,
		"--strategy", "rolling", "--batch-size", "2", "--order", "start-first")
	took := time.Since(start)
	c := stop()
	if r.code != 0 {
		t.Fatalf("rolling deploy: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("roll of 4 replicas, batch 2, start-first: %s", took.Round(time.Millisecond))
	wantCapacity(t, "v1 → v2", c, 4)
	if c.maxRunning < 6 {
		t.Errorf("at most %d containers ran at once: batch 2 start-first should run 6 (new next to old)", c.maxRunning)
	}
	if !strings.Contains(r.stdout, "awaiting-confirm") {
		t.Errorf("deploy output does not say the release awaits confirmation:\n%s", r.stdout)
	}
	if n, st := e.statusRelease(); n != 2 || st != "awaiting-confirm" {
		t.Errorf("status shows release %d %s, want 2 awaiting-confirm", n, st)
	}
	e.wantStatuses(map[int]string{1: "active", 2: "awaiting-confirm"})

	// The new containers serve under the compose names; the old ones are
	// kept stopped as <name>_old for a rollback.
	if got := e.versions("web"); !slices.Equal(got, []string{"v2", "v2", "v2", "v2"}) {
		t.Errorf("web answers %v, want 4 × v2", got)
	}
	var old []string
	for _, c := range e.containers() {
		if strings.HasSuffix(c.Name, "_old") {
			if c.Running() {
				t.Errorf("%s still runs after the roll", c.Name)
			}
			old = append(old, c.Name)
		}
	}
	if len(old) != 4 {
		t.Errorf("kept old containers = %v, want 4 web-N_old", old)
	}
	return file, v1, v2
}

func TestRolling_StartFirstKeepsCapacity(t *testing.T) {
	t.Run("confirm", func(t *testing.T) {
		e := newEnv(t)
		rollToV2(t, e)
		r := e.mustRun("confirm", e.stack)
		if !strings.Contains(r.stdout, "release 2") {
			t.Errorf("confirm output: %s", r.stdout)
		}
		e.wantServing(4, "v2")
		e.wantStatuses(map[int]string{1: "superseded", 2: "active"})
	})

	t.Run("rollback", func(t *testing.T) {
		e := newEnv(t)
		rollToV2(t, e)
		stop := e.sampleCapacity()
		start := time.Now()
		r := e.run("rollback", e.stack)
		took := time.Since(start)
		c := stop()
		if r.code != 0 {
			t.Fatalf("rollback: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("rollback of 4 replicas: %s", took.Round(time.Millisecond))
		wantCapacity(t, "rollback v2 → v1", c, 4)
		e.wantServing(4, "v1")
		e.wantStatuses(map[int]string{1: "active", 2: "rolled-back"})
		if n, st := e.statusRelease(); n != 1 || st != "active" {
			t.Errorf("status shows release %d %s, want 1 active", n, st)
		}
	})
}

// wantFailedRoll deploys bad as release 2 over a serving v1 and checks it is
// rolled back by itself: exit 1, v1 serves with every replica, release 2 is
// failed and `cutover history` says why (each of why).
func wantFailedRoll(t *testing.T, e *env, file, bad string, flags []string, why ...string) rollRelease {
	t.Helper()
	start := time.Now()
	r := e.run(append([]string{"deploy", "-f", file, "-p", e.stack, "--image", "web=" + bad, "--strategy", "rolling"}, flags...)...)
	t.Logf("failed roll and automatic rollback: %s", time.Since(start).Round(time.Millisecond))
	if r.code != 1 {
		t.Fatalf("deploy of a bad release: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	e.wantServing(4, "v1")
	rels := e.wantStatuses(map[int]string{1: "active", 2: "failed"})
	for _, w := range why {
		if !strings.Contains(rels[2].Reason, w) {
			t.Errorf("release 2's reason does not mention %q:\n%s", w, rels[2].Reason)
		}
	}
	h := e.mustRun("history", e.stack).stdout
	var line string
	for l := range strings.Lines(h) {
		if strings.HasPrefix(l, "2 ") {
			line = l
		}
	}
	if !strings.Contains(line, "failed") {
		t.Errorf("history has no failed release 2:\n%s", h)
	}
	for _, w := range why {
		if !strings.Contains(line, w) {
			t.Errorf("history does not say why release 2 failed (%q):\n%s", w, h)
		}
	}
	return rels[2]
}

func TestRolling_UnhealthyReleaseIsRolledBack(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, true)
	sick := e.image("sick", map[string]string{"TESTAPP_HEALTH": "fail"}, true)
	file := e.writeCompose(webStack{image: v1, replicas: 4}.yaml())
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling")

	rel := wantFailedRoll(t, e, file, sick, []string{"--batch-size", "2"}, "health check failed")
	if !strings.Contains(rel.Reason, e.stack+"-web-") {
		t.Errorf("reason does not name the container: %s", rel.Reason)
	}
	if !strings.Contains(rel.Reason, "last log lines") {
		t.Errorf("reason does not carry the container's last log lines: %s", rel.Reason)
	}
}

func TestRolling_CrashInMonitorWindowIsRolledBack(t *testing.T) {
	e := newEnv(t)
	// v1 listens 300 ms after it starts, well inside min_ready: the old
	// containers the automatic rollback starts again must be held to the
	// same gate before cutover says v1 serves again.
	v1 := e.image("v1", map[string]string{"TESTAPP_START_DELAY": "300ms"}, false)
	crash := e.image("crash", map[string]string{"TESTAPP_CRASH_AFTER": "3s"}, false)
	// Ready after 500 ms, so every container passes its health gate (batch
	// 1: right after its own start, however slow the engine starts the
	// others); the crash comes 3 s after start, inside the 6 s monitor window.
	file := e.writeCompose(webStack{image: v1, replicas: 4, monitor: "6s"}.yaml())
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling")

	rel := wantFailedRoll(t, e, file, crash, []string{"--batch-size", "1"}, "monitor window", "exited with code 3")
	if !strings.Contains(rel.Reason, e.stack+"-web-") {
		t.Errorf("reason does not name the container: %s", rel.Reason)
	}
}

func TestRollback_ToEarlierRelease(t *testing.T) {
	const replicas = 2
	e := newEnv(t)
	v1 := e.image("v1", nil, false)
	v2 := e.image("v2", nil, false)
	v3 := e.image("v3", nil, false)
	file := e.writeCompose(webStack{image: v1, replicas: replicas}.yaml())
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling")
	for _, img := range []string{v2, v3} {
		e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--batch-size", "2", "--image", "web="+img)
		e.mustRun("confirm", e.stack)
	}
	e.wantServing(replicas, "v3")
	e.wantStatuses(map[int]string{1: "superseded", 2: "superseded", 3: "active"})

	r := e.run("rollback", e.stack, "--to", "1")
	if r.code != 0 {
		t.Fatalf("rollback --to 1: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "release 4") {
		t.Errorf("rollback --to 1 output does not name release 4:\n%s", r.stdout)
	}
	rels := e.wantStatuses(map[int]string{1: "superseded", 2: "superseded", 3: "active", 4: "awaiting-confirm"})
	r4 := rels[4]
	if r4.Images["web"].Ref != v1 || r4.Trigger != "rollback --to 1" || r4.Strategy != "rolling" {
		t.Errorf("release 4: web=%s trigger %q strategy %q, want web=%s trigger \"rollback --to 1\" strategy rolling",
			r4.Images["web"].Ref, r4.Trigger, r4.Strategy, v1)
	}
	if h := e.mustRun("history", e.stack).stdout; !strings.Contains(h, "rollback --to 1") || !strings.Contains(h, "web="+v1) {
		t.Errorf("history text does not show release 4 from rollback --to 1 with web=%s:\n%s", v1, h)
	}
	if got := e.versions("web"); !slices.Equal(got, []string{"v1", "v1"}) {
		t.Errorf("web answers %v after rollback --to 1, want 2 × v1", got)
	}
	e.mustRun("confirm", e.stack)
	e.wantServing(replicas, "v1")
	e.wantStatuses(map[int]string{1: "superseded", 2: "superseded", 3: "superseded", 4: "active"})
	// The redeployed containers still name the compose file, so
	// docker compose finds the project's configuration as before.
	for _, c := range e.running() {
		if got := c.Labels[compose.LabelConfigFiles]; got != file {
			t.Errorf("%s: %s = %q after rollback --to 1, want %q", c.Name, compose.LabelConfigFiles, got, file)
		}
	}
}

func TestRolling_DeployConfirmsAwaitingReleaseFirst(t *testing.T) {
	const replicas = 2
	e := newEnv(t)
	v1 := e.image("v1", nil, false)
	v2 := e.image("v2", nil, false)
	v3 := e.image("v3", nil, false)
	file := e.writeCompose(webStack{image: v1, replicas: replicas}.yaml())
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling")
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--batch-size", "2", "--image", "web="+v2)
	e.wantStatuses(map[int]string{1: "active", 2: "awaiting-confirm"})

	r := e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--batch-size", "2", "--image", "web="+v3)
	if !strings.Contains(r.stderr, "release 2 awaited confirmation: confirming it") {
		t.Errorf("deploy does not say it confirms release 2 first:\n%s", r.stderr)
	}
	e.wantStatuses(map[int]string{1: "superseded", 2: "active", 3: "awaiting-confirm"})
	if got := e.versions("web"); !slices.Equal(got, []string{"v3", "v3"}) {
		t.Errorf("web answers %v, want 2 × v3", got)
	}
	// Confirming release 2 removed release 1's containers; release 2's are
	// the ones kept for a rollback of release 3.
	var old []string
	for _, c := range e.containers() {
		if c.Running() {
			continue
		}
		img := c.Image
		old = append(old, c.Name+"="+img)
		if !strings.HasSuffix(c.Name, "_old") || img != v2 {
			t.Errorf("stopped container %s (%s): want only release 2's web-N_old (%s)", c.Name, img, v2)
		}
	}
	if len(old) != replicas {
		t.Errorf("stopped containers = %v, want release 2's %d", old, replicas)
	}
	e.mustRun("confirm", e.stack)
	e.wantServing(replicas, "v3")
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func getVersion(url string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return strings.TrimSpace(b.String()), err
}

func TestRolling_FixedHostPortNeedsAllowStopFirst(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, true)
	v2 := e.image("v2", nil, true)
	port := strconv.Itoa(freePort(t))
	url := "http://127.0.0.1:" + port + "/version"
	file := e.writeCompose(webStack{image: v1, replicas: 1, ports: []string{port + ":8080"}}.yaml())
	rolling := []string{"deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--order", "start-first"}

	wantRefused := func(args []string, releases int) {
		t.Helper()
		r := e.run(args...)
		if r.code != 2 {
			t.Fatalf("start-first with a fixed host port: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, port) || !strings.Contains(r.stderr, "--allow-stop-first") {
			t.Errorf("error does not name port %s and --allow-stop-first:\n%s", port, r.stderr)
		}
		if h := e.history(); len(h) != releases {
			t.Errorf("a refused deploy was recorded: history = %+v", h)
		}
	}

	// Refused before anything is recorded or created.
	wantRefused(rolling, 0)
	if cs := e.containers(); len(cs) != 0 {
		t.Fatalf("a refused deploy created containers: %v", cs)
	}

	e.mustRun(append(rolling, "--allow-stop-first")...)
	if v, err := getVersion(url); err != nil || v != "v1" {
		t.Fatalf("GET %s = %q, %v; want v1", url, v, err)
	}

	// Refused again for v2, and v1 still serves on the port.
	wantRefused(append(rolling, "--image", "web="+v2), 1)
	if v, err := getVersion(url); err != nil || v != "v1" {
		t.Fatalf("after the refused deploy GET %s = %q, %v; want v1", url, v, err)
	}

	// Allowed, v2 rolls stop-first and takes the port.
	r := e.mustRun(append(rolling, "--image", "web="+v2, "--allow-stop-first")...)
	if !strings.Contains(r.stderr, "stop-first") {
		t.Errorf("deploy does not note the stop-first fallback:\n%s", r.stderr)
	}
	e.wantStatuses(map[int]string{1: "active", 2: "awaiting-confirm"})
	if v, err := getVersion(url); err != nil || v != "v2" {
		t.Fatalf("after the stop-first roll GET %s = %q, %v; want v2", url, v, err)
	}

	// Going back needs the same permission: refused without it, and the
	// release still serves; with it, v1 comes back stop-first on the port.
	r = e.run("rollback", e.stack)
	if r.code != 2 || !strings.Contains(r.stderr, port) || !strings.Contains(r.stderr, "--allow-stop-first") {
		t.Errorf("rollback of a fixed-port service: exit %d, want 2 naming port %s and --allow-stop-first\nstderr:\n%s", r.code, port, r.stderr)
	}
	if v, err := getVersion(url); err != nil || v != "v2" {
		t.Fatalf("after the refused rollback GET %s = %q, %v; want v2", url, v, err)
	}
	e.wantStatuses(map[int]string{1: "active", 2: "awaiting-confirm"})
	e.mustRun("rollback", e.stack, "--allow-stop-first")
	e.wantStatuses(map[int]string{1: "active", 2: "rolled-back"})
	e.wantServing(1, "v1")
	if v, err := getVersion(url); err != nil || v != "v1" {
		t.Fatalf("after rollback GET %s = %q, %v; want v1", url, v, err)
	}

	// And confirm makes the stop-first release final.
	e.mustRun(append(rolling, "--image", "web="+v2, "--allow-stop-first")...)
	e.mustRun("confirm", e.stack)
	e.wantStatuses(map[int]string{1: "superseded", 2: "rolled-back", 3: "active"})
	e.wantServing(1, "v2")
	if v, err := getVersion(url); err != nil || v != "v2" {
		t.Fatalf("after confirm GET %s = %q, %v; want v2", url, v, err)
	}
}

// cutoverBinary builds cmd/cutover into dir.
func cutoverBinary(t *testing.T, dir string) string {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("go.mod not found above the working directory")
		}
		root = parent
	}
	bin := filepath.Join(dir, "cutover")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cutover")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cutover: %v\n%s", err, out)
	}
	return bin
}

// proc is the cutover binary running as its own process.
type proc struct {
	cmd         *exec.Cmd
	stdout      bytes.Buffer
	stderr      syncBuffer
	waitOnce    sync.Once
	code        int
	waitErr     error
	description string
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer = syncbuf.Buffer

// start runs the binary with the test's state dir; the process is killed
// at the end of the test if it still runs.
func (e *env) start(bin string, args ...string) *proc {
	e.t.Helper()
	p := &proc{description: "cutover " + strings.Join(args, " ")}
	p.cmd = exec.Command(bin, append([]string{"--state-dir", e.stateDir}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		e.t.Fatalf("%s: %v", p.description, err)
	}
	e.t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		p.wait()
	})
	return p
}

// wait waits for the process and returns its exit code.
func (p *proc) wait() int {
	p.waitOnce.Do(func() {
		err := p.cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			p.code = exit.ExitCode()
		default:
			p.code, p.waitErr = -1, err
		}
	})
	return p.code
}

// newContainerRuns reports whether a container of the release being
// deployed (<stack>-web-N_new) is running: the deploy has changed the stack
// and is waiting for the new containers to get ready.
func (e *env) newContainerRuns() bool {
	cs, err := e.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: e.stack})
	if err != nil {
		return false
	}
	for _, c := range cs {
		if strings.HasSuffix(c.Name, "_new") && c.Running() {
			return true
		}
	}
	return false
}

func TestAbortAndUnlock(t *testing.T) {
	bin := cutoverBinary(t, t.TempDir())

	// slowRoll deploys a 2-replica v1, then starts, as a separate process, a
	// roll to v2 (batch 1) whose containers need a minute to count as ready, and waits
	// until it has started new containers.
	slowRoll := func(t *testing.T, e *env) (*proc, string) {
		v1 := e.image("v1", nil, false)
		v2 := e.image("v2", nil, false)
		file := e.writeCompose(webStack{image: v1, replicas: 2}.yaml())
		e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling")
		e.writeCompose(webStack{image: v2, replicas: 2, minReady: "60s", healthTimeout: "2m"}.yaml())
		p := e.start(bin, "deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--batch-size", "1")
		deadline := time.Now().Add(30 * time.Second)
		for !e.newContainerRuns() {
			if time.Now().After(deadline) {
				t.Fatalf("the deploy started no new container within 30s\nstderr:\n%s", p.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		return p, file
	}

	t.Run("abort", func(t *testing.T) {
		e := newEnv(t)
		deploying, _ := slowRoll(t, e)

		start := time.Now()
		abort := e.start(bin, "abort", e.stack)
		if code := abort.wait(); code != 0 {
			t.Fatalf("cutover abort: exit %d\nstdout:\n%s\nstderr:\n%s\ndeploy stderr:\n%s", code, abort.stdout.String(), abort.stderr.String(), deploying.stderr.String())
		}
		t.Logf("abort took %s", time.Since(start).Round(time.Millisecond))
		if !strings.Contains(abort.stdout.String(), "release 2 of "+e.stack+" is aborted") {
			t.Errorf("abort output: %s", abort.stdout.String())
		}
		if code := deploying.wait(); code != 1 {
			t.Errorf("aborted deploy: exit %d, want 1\nstderr:\n%s", code, deploying.stderr.String())
		}
		e.wantServing(2, "v1")
		got := e.wantStatuses(map[int]string{1: "active", 2: "aborted"})
		if why := got[2].Reason; !strings.HasPrefix(why, "interrupt signal received") || strings.Contains(why, "context canceled") {
			t.Errorf("release 2's reason %q does not say a signal stopped it (cutover abort sends SIGINT)", why)
		}
	})

	t.Run("unlock", func(t *testing.T) {
		e := newEnv(t)
		deploying, file := slowRoll(t, e)
		if err := deploying.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		deploying.wait()

		// The lock outlives its process: the next deploy says it is stale.
		e.writeCompose(webStack{image: e.tag + ":v2", replicas: 2}.yaml())
		r := e.run("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--batch-size", "2")
		if r.code != 3 || !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "cutover unlock "+e.stack) {
			t.Fatalf("deploy over a dead deploy's lock: exit %d, want 3 and a stale lock error naming cutover unlock\nstderr:\n%s", r.code, r.stderr)
		}
		e.wantStatuses(map[int]string{1: "active", 2: "deploying"})

		r = e.mustRun("unlock", e.stack)
		if !strings.Contains(r.stdout, "unlocked") {
			t.Errorf("unlock output: %s", r.stdout)
		}
		rels := e.wantStatuses(map[int]string{1: "active", 2: "failed"})
		if !strings.Contains(rels[2].Reason, "interrupted") {
			t.Errorf("release 2's reason does not say it was interrupted: %s", rels[2].Reason)
		}

		// The next deploy works and clears what the dead one left.
		e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--batch-size", "2")
		e.wantStatuses(map[int]string{1: "active", 2: "failed", 3: "awaiting-confirm"})
		for _, c := range e.containers() {
			if strings.HasSuffix(c.Name, "_new") {
				t.Errorf("leftover %s of the killed deploy is still there", c.Name)
			}
		}
		e.mustRun("confirm", e.stack)
		e.wantServing(2, "v2")
	})
}
