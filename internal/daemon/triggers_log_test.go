package daemon_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/daemon"
)

// logLines are the lines of the daemon's log that hold every part.
func (d *testDaemon) logLines(parts ...string) []string {
	var out []string
	for _, line := range strings.Split(d.logs.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// A push of a repository some services run, which none of them takes, is
// logged per service with the stack, the policy and the reason: the watch
// policy refused the tag, or the hook's secret does not reach the stack.
func TestTriggers_DeclinedPushSaysWhy(t *testing.T) {
	d := startTwoShops(t)

	// api runs 1.0.0 with watch minor: 2.0.0 is another major.
	body := genericBody("ghcr.io/myorg/api", "2.0.0", sha("f"))
	if a := d.postHook(daemon.HookPathGeneric, map[string]string{"Authorization": "Bearer " + genericToken}, body); a.status != http.StatusAccepted {
		t.Fatalf("answered %d %s, want 202", a.status, a.body)
	}
	d.waitLog("push queued for no stack")
	for _, tc := range []struct{ stack, reason string }{
		{"shop", `reason="the service runs 1.0.0, and its watch policy (minor) does not take 2.0.0 over it"`},
		{"shop2", `reason="the stack names its own generic secret in x-cutover.hooks, and the hook carried the global one"`},
	} {
		if got := d.logLines(`msg="push not deployed"`, "stack="+tc.stack+" ", "service=api ", "push.tag=2.0.0", "policy=minor", tc.reason); len(got) != 1 {
			t.Errorf("%d log lines say why %s's api did not take the push, want 1 with %s", len(got), tc.stack, tc.reason)
		}
	}
	// Signed with shop2's own secret, a push reaches shop2 only.
	body = genericBody("ghcr.io/myorg/api", "1.1.0", sha("a"))
	if a := d.postHook(daemon.HookPathGeneric, signed("shop2-secret", body), body); a.status != http.StatusAccepted {
		t.Fatalf("signed with shop2's secret: answered %d %s, want 202", a.status, a.body)
	}
	d.waitLog(`msg="push queued" `)
	reason := `reason="the hook carried another stack's own generic secret (x-cutover.hooks of stacks shop2), which deploys only those"`
	if got := d.logLines(`msg="push not deployed"`, "stack=shop ", "service=api ", "push.tag=1.1.0", "policy=minor", reason); len(got) != 1 {
		t.Errorf("%d log lines say why shop's api did not take shop2's push, want 1 with %s", len(got), reason)
	}
	if got := d.logLines("push matches no stack"); len(got) != 0 {
		t.Errorf("the log says the push matches no stack: %q", got)
	}
	if rel := d.waitRelease("shop2", 2, 30*time.Second); rel.Images["api"].Ref != "ghcr.io/myorg/api:1.1.0@"+sha("a") {
		t.Errorf("shop2 release 2 runs api %q, want the push signed with its secret", rel.Images["api"].Ref)
	}
	d.waitQuiet("shop2", 10*time.Second)
	if n := len(d.releases("shop")); n != 1 {
		t.Errorf("shop has %d releases, want 1 (the CLI's)", n)
	}
}

// Pushes queued but not started when the daemon stops are dropped: each is
// logged with its stack, service and image, and what to do about it (the
// sender got a 202 and will not send it again). The hooks listener closes
// at once.
func TestTriggers_StopLogsEachDroppedPush(t *testing.T) {
	cb := newHubCallbacks(t)
	d := startHookDaemon(t, shopEngine(), func(c *daemon.Config) {
		c.Debounce = time.Hour // the pushes stay queued
		c.Hooks.CallbackClient = cb.client
	})
	mustRun(t, d.stateDir, "deploy", "-f", writeCompose(t, "shop", shopCompose))
	gen := genericBody("registry.example.com/worker", "v1", sha("b"))
	if a := d.postHook(daemon.HookPathGeneric, signed(genericSecret, gen), gen); a.status != http.StatusAccepted {
		t.Fatalf("generic: answered %d %s", a.status, a.body)
	}
	if a := d.postHook("/hooks/dockerhub/"+hubToken, nil, hubPayload("1.4.3", 1732262400)); a.status != http.StatusAccepted {
		t.Fatalf("docker hub: answered %d %s", a.status, a.body)
	}
	waitFor(t, 5*time.Second, "both pushes queued", func() bool { return len(d.logLines(`msg="push queued"`)) == 2 })
	addr := d.srv.HooksAddr()
	if err := d.shutdown(time.Minute); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ service, image string }{
		{"web", "docker.io/myorg/web:1.4.3"},
		{"worker", "registry.example.com/worker:v1@" + sha("b")},
	} {
		got := d.logLines("queued push dropped", "re-push the image or run cutover check --apply", "stack=shop ", "service="+tc.service+" ", "image="+tc.image)
		if len(got) != 1 {
			t.Errorf("%d log lines name the dropped push of %s (%s), want 1", len(got), tc.service, tc.image)
		}
	}
	if got := d.logLines("registries retry"); len(got) != 0 {
		t.Errorf("the log says registries retry a push they got a 202 for: %q", got)
	}
	if n := len(d.releases("shop")); n != 1 {
		t.Errorf("%d releases, want 1: the queued pushes were not deployed", n)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the hooks listener %s still accepts connections after the daemon stopped", addr)
	}
}
