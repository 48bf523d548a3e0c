package cli_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// stackYAML is a two-service stack: web (one replica, healthcheck in the
// image) and worker (two replicas), plus a named volume on web.
func stackYAML(webImage, workerImage string) string {
	return `services:
  web:
    image: ` + webImage + `
    environment:
      GREETING: ${GREETING:-hello}
    volumes:
      - data:/data
    stop_grace_period: 2s
  worker:
    image: ` + workerImage + `
    depends_on: [web]
    deploy:
      replicas: 2
    stop_grace_period: 2s
x-cutover:
  min_ready: 500ms
  health_timeout: 20s
volumes:
  data: {}
`
}

func TestDeploy_CreateReplaceHistoryDown(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, true)
	v2 := e.image("v2", nil, true)
	file := e.writeCompose(stackYAML(v1, v1))

	// Release 1: everything is created and serves v1.
	e.mustRun("deploy", "-f", file, "-p", e.stack)
	run := e.running()
	wantNames := []string{e.stack + "-web-1", e.stack + "-worker-1", e.stack + "-worker-2"}
	if got := names(run); !slices.Equal(got, wantNames) {
		t.Fatalf("running after release 1 = %v, want %v", got, wantNames)
	}
	if got := e.versions("web"); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("web answers %v, want [v1]", got)
	}

	var st struct {
		Release struct {
			Number int    `json:"number"`
			Status string `json:"status"`
		} `json:"release"`
	}
	r := e.mustRun("status", e.stack, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, r.stdout)
	}
	if st.Release.Number != 1 || st.Release.Status != "active" {
		t.Errorf("status shows release %d %s, want 1 active", st.Release.Number, st.Release.Status)
	}
	if r := e.mustRun("status", e.stack); !strings.Contains(r.stdout, "release:  1 active") {
		t.Errorf("status text does not show release 1 active:\n%s", r.stdout)
	}

	// docker compose itself recognises the containers.
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatalf("docker-compose is not installed (the CI script installs it): %v", err)
	}
	out, err := exec.Command("docker-compose", "-p", e.stack, "-f", file, "ps").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose ps: %v\n%s", err, out)
	}
	for _, n := range wantNames {
		if !strings.Contains(string(out), n) {
			t.Errorf("docker-compose -p %s ps does not list %s:\n%s", e.stack, n, out)
		}
	}

	// Release 2 replaces web only: workers keep running untouched.
	workerIDs := map[string]string{}
	for name, c := range run {
		workerIDs[name] = c.ID
	}
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--image", "web="+v2)
	run2 := e.running()
	if got := names(run2); !slices.Equal(got, wantNames) {
		t.Fatalf("running after release 2 = %v, want %v (no _old/_new left)", got, wantNames)
	}
	if run2[e.stack+"-web-1"].ID == workerIDs[e.stack+"-web-1"] {
		t.Error("web-1 was not replaced by release 2")
	}
	for _, w := range []string{e.stack + "-worker-1", e.stack + "-worker-2"} {
		if run2[w].ID != workerIDs[w] {
			t.Errorf("%s was replaced though its image did not change", w)
		}
	}
	if got := e.versions("web"); !slices.Equal(got, []string{"v2"}) {
		t.Errorf("web answers %v after release 2, want [v2]", got)
	}
	if all := e.containers(); len(all) != 3 {
		t.Errorf("%d containers after release 2, want 3 (old ones removed)", len(all))
	}

	h := e.history()
	if len(h) != 2 || h[0].Number != 2 || h[0].Status != "active" || h[1].Number != 1 || h[1].Status != "superseded" {
		t.Fatalf("history = %+v, want 2 active, 1 superseded", h)
	}
	if h[0].Images["web"].Ref != v2 || h[1].Images["web"].Ref != v1 {
		t.Errorf("history images: release 2 web=%s, release 1 web=%s", h[0].Images["web"].Ref, h[1].Images["web"].Ref)
	}
	if r := e.mustRun("history", e.stack); !strings.Contains(r.stdout, "superseded") || !strings.Contains(r.stdout, v2) {
		t.Errorf("history text:\n%s", r.stdout)
	}

	// Down removes containers and networks; the named volume stays.
	e.mustRun("down", e.stack)
	if cs := e.containers(); len(cs) != 0 {
		t.Errorf("containers after down: %d", len(cs))
	}
	if ns := e.networks(); len(ns) != 0 {
		t.Errorf("networks after down: %v", ns)
	}
	if vs := e.volumes(); len(vs) != 1 {
		t.Errorf("volumes after down = %v, want the named volume kept", vs)
	}
	if r := e.mustRun("status", e.stack); !strings.Contains(r.stdout, "down") {
		t.Errorf("status after down:\n%s", r.stdout)
	}
	e.mustRun("down", e.stack, "--volumes")
	if vs := e.volumes(); len(vs) != 0 {
		t.Errorf("volumes after down --volumes = %v", vs)
	}
}

func TestDeploy_UnhealthyReleaseIsUndone(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, true)
	sick := e.image("sick", map[string]string{"TESTAPP_HEALTH": "fail"}, true)
	file := e.writeCompose(stackYAML(v1, v1))
	e.mustRun("deploy", "-f", file, "-p", e.stack)
	before := e.running()

	r := e.run("deploy", "-f", file, "-p", e.stack, "--image", "web="+sick)
	if r.code != 1 {
		t.Fatalf("deploy of an unhealthy image: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "health check failed") {
		t.Errorf("error does not say the health check failed:\n%s", r.stderr)
	}
	after := e.running()
	if !slices.Equal(names(after), names(before)) {
		t.Fatalf("running after failed release = %v, want %v", names(after), names(before))
	}
	if all := e.containers(); len(all) != len(before) {
		t.Errorf("%d containers after failed release, want %d (no leftovers)", len(all), len(before))
	}
	if got := e.versions("web"); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("web answers %v after failed release, want [v1]", got)
	}
	h := e.history()
	if len(h) != 2 || h[0].Status != "failed" || h[1].Status != "active" {
		t.Fatalf("history = %+v, want 2 failed, 1 active", h)
	}
	if !strings.Contains(h[0].Reason, e.stack+"-web-1") || !strings.Contains(h[0].Reason, "health check failed") {
		t.Errorf("failed release reason does not name the container and check: %q", h[0].Reason)
	}
}

func TestDeploy_CrashingReleaseIsUndone(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, false)
	crash := e.image("crash", map[string]string{"TESTAPP_EXIT_ON_START": "1"}, false)
	file := e.writeCompose(stackYAML(v1, v1))
	e.mustRun("deploy", "-f", file, "-p", e.stack)

	r := e.run("deploy", "-f", file, "-p", e.stack, "--image", "worker="+crash)
	if r.code != 1 {
		t.Fatalf("deploy of a crashing image: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "exited with code 2") {
		t.Errorf("error does not give the exit code:\n%s", r.stderr)
	}
	if got := e.versions("worker"); !slices.Equal(got, []string{"v1", "v1"}) {
		t.Errorf("workers answer %v after failed release, want two v1", got)
	}
	if h := e.history(); len(h) != 2 || h[0].Status != "failed" {
		t.Fatalf("history = %+v, want release 2 failed", h)
	}
}

func TestDeploy_BadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, false)
	good := e.writeCompose(stackYAML(v1, v1))
	broken := e.dir + "/broken.yaml"
	writeFile(t, broken, "services:\n  web:\n    image: [unclosed\n")

	cases := []struct {
		desc     string
		args     []string
		code     int
		mention  []string
		recorded bool // a failed release is recorded
		json     bool // -o json: the summary on stdout names the stack and the error
	}{
		{desc: "missing file", args: []string{"deploy", "-f", e.dir + "/nope.yaml", "-p", e.stack}, code: 2, mention: []string{"nope.yaml"}},
		{desc: "invalid yaml", args: []string{"deploy", "-f", broken, "-p", e.stack}, code: 2, mention: []string{"broken.yaml"}},
		{desc: "unknown service in --image", args: []string{"deploy", "-f", good, "-p", e.stack, "--image", "nosuch=" + v1}, code: 2, mention: []string{`"nosuch"`, "web", "worker"}},
		{desc: "unknown service in --image, -o json", args: []string{"deploy", "-f", good, "-p", e.stack, "--image", "nosuch=" + v1, "-o", "json"}, code: 2, mention: []string{`"nosuch"`}, json: true},
		{desc: "malformed --image", args: []string{"deploy", "-f", good, "-p", e.stack, "--image", "web"}, code: 2, mention: []string{"SERVICE=REF"}},
		{desc: "malformed --image, -o json", args: []string{"deploy", "-f", good, "-p", e.stack, "--image", "web", "-o", "json"}, code: 2, mention: []string{"SERVICE=REF"}, json: true},
		{desc: "invalid yaml, -o json", args: []string{"deploy", "-f", broken, "-p", e.stack, "-o", "json"}, code: 2, mention: []string{"broken.yaml"}, json: true},
		{desc: "unknown strategy", args: []string{"deploy", "-f", good, "-p", e.stack, "--strategy", "yolo"}, code: 2, mention: []string{`"yolo"`}},
		{desc: "image that does not exist", args: []string{"deploy", "-f", good, "-p", e.stack, "--image", "web=cutover-nonexistent/image:404"}, code: 1, mention: []string{"cutover-nonexistent/image:404"}, recorded: true},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			before := len(e.history())
			r := e.run(tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, tc.code, r.stderr)
			}
			msg := strings.TrimSpace(r.stderr)
			lines := strings.Split(msg, "\n")
			last := lines[len(lines)-1]
			for _, m := range tc.mention {
				if !strings.Contains(last, m) {
					t.Errorf("error %q does not mention %q", last, m)
				}
			}
			if tc.json {
				var sum struct {
					Stack, Status, Error string
					ExitCode             int `json:"exit_code"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
					t.Fatalf("-o json: %v\n%s", err, r.stdout)
				}
				if sum.Stack != e.stack || sum.Status != "error" || sum.ExitCode != tc.code || !strings.Contains(sum.Error, tc.mention[0]) {
					t.Errorf("-o json summary %+v, want stack %s, status error, exit %d and the error", sum, e.stack, tc.code)
				}
			}
			if cs := e.containers(); len(cs) != 0 {
				t.Errorf("%d containers left behind", len(cs))
			}
			if ns := e.networks(); len(ns) != 0 {
				t.Errorf("networks left behind: %v", ns)
			}
			h := e.history()
			switch {
			case tc.recorded && (len(h) != before+1 || h[0].Status != "failed" || !strings.Contains(h[0].Reason, "cutover-nonexistent/image:404")):
				t.Errorf("want a failed release naming the image, history = %+v", h)
			case !tc.recorded && len(h) != before:
				t.Errorf("a release was recorded for bad input: %+v", h)
			}
		})
	}
}

func TestDeploy_ConcurrentDeploysOfOneStack(t *testing.T) {
	e := newEnv(t)
	slow := e.image("slow", nil, false)
	// Without a healthcheck a container is ready after min_ready: 3 s of
	// deploy in which the second deploy arrives.
	file := e.writeCompose("services:\n  web:\n    image: " + slow + "\nx-cutover:\n  min_ready: 3s\n")

	codes := make(chan result, 2)
	go func() { codes <- e.run("deploy", "-f", file, "-p", e.stack) }()
	go func() { codes <- e.run("deploy", "-f", file, "-p", e.stack) }()
	a, b := <-codes, <-codes
	if a.code > b.code {
		a, b = b, a
	}
	if a.code != 0 || b.code != 3 {
		t.Fatalf("exit codes %d and %d, want 0 and 3\n%s\n%s", a.code, b.code, a.stderr, b.stderr)
	}
	if !strings.Contains(b.stderr, "is being deployed by release 1") {
		t.Errorf("lock error does not say who holds the stack: %s", b.stderr)
	}

	// With --lock-wait the second deploy queues behind the first instead.
	go func() { codes <- e.run("deploy", "-f", file, "-p", e.stack, "--image", "web="+slow) }()
	go func() { codes <- e.run("deploy", "-f", file, "-p", e.stack, "--lock-wait", "1m") }()
	a, b = <-codes, <-codes
	if a.code != 0 || b.code != 0 {
		t.Fatalf("with --lock-wait: exit codes %d and %d, want 0 and 0\n%s\n%s", a.code, b.code, a.stderr, b.stderr)
	}
}

func TestDeploy_BuildSectionBuildsThroughTheEngine(t *testing.T) {
	e := newEnv(t)
	bin, err := e.images.Binary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ref := e.tag + ":built"
	t.Cleanup(func() { _ = e.images.Remove(t.Context(), ref) })
	writeContext(t, e.dir+"/app", bin)
	file := e.writeCompose(`services:
  web:
    image: ` + ref + `
    build:
      context: ./app
      args:
        VERSION: built-from-dockerfile
`)
	e.mustRun("deploy", "-f", file, "-p", e.stack)
	if got := e.versions("web"); !slices.Equal(got, []string{"built-from-dockerfile"}) {
		t.Errorf("web answers %v, want the version passed as a build arg", got)
	}
}
