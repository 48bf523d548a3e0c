package daemon_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/webhook"
)

// shopCompose watches four repositories, one per hook source.
const shopCompose = `name: shop
x-cutover:
  min_ready: 100ms
  health_timeout: 20s
services:
  web:
    image: myorg/web:1.4.2
    x-cutover: {watch: {tags: "semver:^1.4"}}
  api:
    image: ghcr.io/myorg/api:1.0.0
    x-cutover: {watch: {tags: minor}}
  worker:
    image: registry.example.com/worker:v1
  edge:
    image: 127.0.0.1:5999/edge:v1
    x-cutover: {watch: {tags: "glob:v*"}}
`

// shopEngine holds the images shopCompose runs and the ones its pushes name.
func shopEngine() *enginetest.Fake {
	f := enginetest.New(nil)
	for i, ref := range []string{"myorg/web:1.4.2", "myorg/web:1.4.3", "ghcr.io/myorg/api:1.0.0", "ghcr.io/myorg/api:1.1.0@" + sha("a"),
		"registry.example.com/worker:v1", "registry.example.com/worker:v1@" + sha("b"), "registry.example.com/worker:v1@" + sha("e"), "127.0.0.1:5999/edge:v1", "127.0.0.1:5999/edge:v2@" + sha("c")} {
		f.AddImage(ref, "sha256:"+strings.Repeat(string(rune('0'+i)), 64))
		f.SetHealth(ref, "healthy")
	}
	return f
}

func hubPayload(tag string, pushedAt int) []byte {
	b, _ := json.Marshal(map[string]any{
		"callback_url": "https://registry.hub.docker.com/u/myorg/web/hook/3d1c2a4bb45e4f6a9f0e8b7c6d5e4f3a/",
		"push_data":    map[string]any{"pushed_at": pushedAt, "pusher": "ci", "tag": tag},
		"repository":   map[string]any{"repo_name": "myorg/web", "namespace": "myorg", "name": "web"},
	})
	return b
}

func githubPayload(tag, digest string) []byte {
	b, _ := json.Marshal(map[string]any{"action": "published", "package": map[string]any{
		"name": "api", "namespace": "myorg", "package_type": "CONTAINER",
		"package_version": map[string]any{"version": digest, "package_url": "ghcr.io/myorg/api:" + tag,
			"container_metadata": map[string]any{"tag": map[string]string{"name": tag, "digest": digest}}}}})
	return b
}

func registryEnvelope(repo, tag, digest string) []byte {
	b, _ := json.Marshal(map[string]any{"events": []any{
		map[string]any{"action": "push", "timestamp": "2026-11-22T04:46:03Z", "request": map[string]string{"host": "127.0.0.1:5999"},
			"target": map[string]string{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest, "repository": repo, "tag": tag}},
		map[string]any{"action": "push", "timestamp": "2026-11-22T04:46:03Z", "request": map[string]string{"host": "127.0.0.1:5999"},
			"target": map[string]string{"mediaType": "application/octet-stream", "digest": sha("d"), "repository": repo}},
	}})
	return b
}

// hubCallbacks is a TLS server standing in for Docker Hub's callback URL.
type hubCallbacks struct {
	mu     sync.Mutex
	bodies []map[string]string
	client *http.Client
}

func newHubCallbacks(t *testing.T) *hubCallbacks {
	h := &hubCallbacks{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &m)
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	// Every https://…docker.com address reaches the test server.
	h.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a test server's certificate
	}}
	return h
}

func (h *hubCallbacks) received() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]string(nil), h.bodies...)
}

// TestHooks_EachSourceDeploysOnceAndRefusesTheInvalid sends every source's
// valid and invalid hooks to the daemon's hooks listener: each valid one
// makes exactly one release of the pushed image (trigger webhook:<source>),
// each invalid one is answered 401 or 400 and records nothing.
func TestHooks_EachSourceDeploysOnceAndRefusesTheInvalid(t *testing.T) {
	cb := newHubCallbacks(t)
	d := startHookDaemon(t, shopEngine(), func(c *daemon.Config) {
		c.Hooks.CallbackClient = cb.client
		c.Registry = &digests{m: map[string]string{}}
	})
	mustRun(t, d.stateDir, "deploy", "-f", writeCompose(t, "shop", shopCompose))
	next := 2

	refused := func(desc string, a hookAnswer, status int) {
		t.Helper()
		if a.status != status {
			t.Errorf("%s: answered %d %s, want %d", desc, a.status, a.body, status)
		}
		if n := len(d.releases("shop")); n != next-1 {
			t.Errorf("%s: %d releases recorded, want %d (nothing new)", desc, n, next-1)
		}
	}
	deployed := func(desc string, a hookAnswer, trigger, service, ref string) {
		t.Helper()
		if a.status != http.StatusAccepted {
			t.Fatalf("%s: answered %d %s, want 202", desc, a.status, a.body)
		}
		rel := d.waitRelease("shop", next, 30*time.Second)
		if rel.Status != store.StatusActive || rel.Trigger != trigger || rel.Images[service].Ref != ref {
			t.Errorf("%s: release %d is %s, triggered by %q, %s runs %q; want active, %q, %q", desc, next, rel.Status, rel.Trigger, service, rel.Images[service].Ref, trigger, ref)
		}
		d.waitQuiet("shop", 10*time.Second)
		next++
	}

	// Docker Hub: the token is the URL.
	refused("docker hub, wrong token", d.postHook("/hooks/dockerhub/not-the-token", nil, hubPayload("1.4.3", 1732262400)), http.StatusUnauthorized)
	refused("docker hub, garbage", d.postHook("/hooks/dockerhub/"+hubToken, nil, []byte("{not json")), http.StatusBadRequest)
	deployed("docker hub", d.postHook("/hooks/dockerhub/"+hubToken, nil, hubPayload("1.4.3", 1732262400)), "webhook:dockerhub", "web", "myorg/web:1.4.3")
	// Hub calls again for each platform of a multi-arch push: same pushed_at.
	if a := d.postHook("/hooks/dockerhub/"+hubToken, nil, hubPayload("1.4.3", 1732262400)); a.status != http.StatusOK || !strings.Contains(a.body, "duplicate") {
		t.Errorf("docker hub, same push again: answered %d %s, want 200 duplicate", a.status, a.body)
	}

	// GitHub: X-Hub-Signature-256 over the raw body.
	gh := githubPayload("1.1.0", sha("a"))
	ghHeaders := func(sig string) map[string]string {
		return map[string]string{webhook.GitHubEventHeader: "package", webhook.GitHubSignatureHeader: sig}
	}
	refused("github, wrong signature", d.postHook("/hooks/github", ghHeaders(webhook.Sign("not the secret", gh)), gh), http.StatusUnauthorized)
	refused("github, no signature", d.postHook("/hooks/github", ghHeaders(""), gh), http.StatusUnauthorized)
	garbage := []byte(`{"action": "published", "package": 7}`)
	refused("github, signed garbage", d.postHook("/hooks/github", ghHeaders(webhook.Sign(githubSecret, garbage)), garbage), http.StatusBadRequest)
	ping := []byte(`{"zen": "Design for failure."}`)
	if a := d.postHook("/hooks/github", map[string]string{webhook.GitHubEventHeader: "ping", webhook.GitHubSignatureHeader: webhook.Sign(githubSecret, ping)}, ping); a.status != http.StatusOK {
		t.Errorf("github ping: answered %d %s, want 200", a.status, a.body)
	}
	deployed("github", d.postHook("/hooks/github", ghHeaders(webhook.Sign(githubSecret, gh)), gh), "webhook:github", "api", "ghcr.io/myorg/api:1.1.0@"+sha("a"))

	// Generic: HMAC or bearer token.
	gen := genericBody("registry.example.com/worker", "v1", sha("b"))
	refused("generic, wrong bearer", d.postHook("/hooks/generic", map[string]string{"Authorization": "Bearer nope"}, gen), http.StatusUnauthorized)
	typo := []byte(`{"image": "registry.example.com/worker", "tags": "v1"}`)
	refused("generic, signed typo", d.postHook("/hooks/generic", signed(genericSecret, typo), typo), http.StatusBadRequest)
	refused("generic, too large", d.postHook("/hooks/generic", signed(genericSecret, gen), make([]byte, webhook.DefaultMaxBody+1)), http.StatusRequestEntityTooLarge)
	deployed("generic", d.postHook("/hooks/generic", map[string]string{"Authorization": "Bearer " + genericToken}, gen), "webhook:generic", "worker", "registry.example.com/worker:v1@"+sha("b"))

	// Registry: its configured Authorization header; blob pushes are noise.
	env := registryEnvelope("edge", "v2", sha("c"))
	regHeaders := func(auth string) map[string]string {
		return map[string]string{"Authorization": auth, "Content-Type": webhook.RegistryEventsV1}
	}
	refused("registry, wrong authorization", d.postHook("/hooks/registry", regHeaders("Bearer nope"), env), http.StatusUnauthorized)
	deployed("registry", d.postHook("/hooks/registry", regHeaders(registryAuth), env), "webhook:registry", "edge", "127.0.0.1:5999/edge:v2@"+sha("c"))

	// Every release changed only its own service.
	rels := d.releases("shop")
	if len(rels) != 5 {
		t.Fatalf("%d releases, want 5 (the CLI's, then one per valid hook)", len(rels))
	}
	last := rels[4].Images
	for svc, want := range map[string]string{"web": "myorg/web:1.4.3", "api": "ghcr.io/myorg/api:1.1.0@" + sha("a"),
		"worker": "registry.example.com/worker:v1@" + sha("b"), "edge": "127.0.0.1:5999/edge:v2@" + sha("c")} {
		if last[svc].Ref != want {
			t.Errorf("release 5 runs %s = %s, want %s", svc, last[svc].Ref, want)
		}
	}
	// Docker Hub heard back, and the token never reached the log.
	waitFor(t, 10*time.Second, "the docker hub callback", func() bool { return len(cb.received()) > 0 })
	if got := cb.received()[0]; got["state"] != "success" || !strings.Contains(got["description"], "shop") {
		t.Errorf("docker hub callback = %v, want state success naming shop", got)
	}
	for _, secret := range []string{hubToken, githubSecret, genericSecret, genericToken, "registry-secret"} {
		if strings.Contains(d.logs.String(), secret) {
			t.Errorf("the daemon's log holds the secret %q", secret)
		}
	}
	if !strings.Contains(d.logs.String(), "path=/hooks/dockerhub/REDACTED") {
		t.Errorf("the log shows no redacted docker hub path:\n%s", d.logs)
	}
}

// A hook is answered before its release starts: with the stack's lock held
// (a CLI deploy running), the push is acknowledged and nothing is recorded
// until the lock is free; then the release runs, queued behind it.
func TestHooks_AnswerAtOnceAndQueueBehindADeploy(t *testing.T) {
	d := startHookDaemon(t, shopEngine(), nil)
	mustRun(t, d.stateDir, "deploy", "-f", writeCompose(t, "shop", shopCompose))
	host, _ := os.Hostname()
	lock, err := d.store.Acquire(context.Background(), store.Lock{Stack: "shop", PID: os.Getpid(), Host: host})
	if err != nil {
		t.Fatal(err)
	}

	gen := genericBody("registry.example.com/worker", "v1", sha("b"))
	start := time.Now()
	a := d.postHook("/hooks/generic", signed(genericSecret, gen), gen)
	ack := time.Since(start)
	if a.status != http.StatusAccepted || !strings.Contains(a.body, "registry.example.com/worker:v1@"+sha("b")) {
		t.Fatalf("answered %d %s, want 202 naming the push", a.status, a.body)
	}
	if n := len(d.releases("shop")); n != 1 {
		t.Fatalf("%d releases while the lock is held, want 1: the release waits for the lock", n)
	}
	t.Logf("acknowledged in %s", ack)
	d.waitLog("release triggered")
	if err := d.store.Release(context.Background(), lock); err != nil {
		t.Fatal(err)
	}
	rel := d.waitRelease("shop", 2, 30*time.Second)
	if rel.Status != store.StatusActive || rel.Trigger != "webhook:generic" {
		t.Errorf("release 2 is %s by %s, want active by webhook:generic", rel.Status, rel.Trigger)
	}
}

// A stack that names its own secret is deployed only by hooks carrying it,
// and the global secret reaches only the stacks without one.
func TestHooks_StackSecretsKeepStacksApart(t *testing.T) {
	d := startTwoShops(t)

	gen := genericBody("registry.example.com/worker", "v1", sha("b"))
	if a := d.postHook("/hooks/generic", signed("shop2-secret", gen), gen); a.status != http.StatusAccepted {
		t.Fatalf("signed with shop2's secret: answered %d %s", a.status, a.body)
	}
	if rel := d.waitRelease("shop2", 2, 30*time.Second); rel.Trigger != "webhook:generic" {
		t.Errorf("shop2 release 2 triggered by %q", rel.Trigger)
	}
	d.waitLog("push queued")
	if n := len(d.releases("shop")); n != 1 {
		t.Errorf("shop has %d releases, want 1: shop2's secret does not reach it", n)
	}

	// The same push, delivered again for the stacks of the global secret
	// (a registry notifying once per endpoint): not a duplicate there.
	if a := d.postHook("/hooks/generic", map[string]string{"Authorization": "Bearer " + genericToken}, gen); a.status != http.StatusAccepted {
		t.Fatalf("with the global token: answered %d %s", a.status, a.body)
	}
	if rel := d.waitRelease("shop", 2, 30*time.Second); rel.Trigger != "webhook:generic" {
		t.Errorf("shop release 2 triggered by %q", rel.Trigger)
	}
	d.waitQuiet("shop", 10*time.Second)
	if n := len(d.releases("shop2")); n != 2 {
		t.Errorf("shop2 has %d releases, want 2: the global secret does not reach a stack with its own", n)
	}
}

// A tag moved back to the image it named a moment ago (A → B → A, a
// rollback by re-push) deploys each time; only a repeat of the tag's last
// push — a retry, GitHub's second event kind — is a duplicate.
func TestHooks_TagMovedBackDeploysAgain(t *testing.T) {
	d := startHookDaemon(t, shopEngine(), nil)
	mustRun(t, d.stateDir, "deploy", "-f", writeCompose(t, "shop", shopCompose))
	bearer := map[string]string{"Authorization": "Bearer " + genericToken}
	next := 2
	for _, digest := range []string{sha("b"), sha("e"), sha("b")} {
		body := genericBody("registry.example.com/worker", "v1", digest)
		if a := d.postHook(daemon.HookPathGeneric, bearer, body); a.status != http.StatusAccepted {
			t.Fatalf("push of worker:v1@%s as release %d: answered %d %s, want 202", digest[:14], next, a.status, a.body)
		}
		rel := d.waitRelease("shop", next, 30*time.Second)
		if want := "registry.example.com/worker:v1@" + digest; rel.Status != store.StatusActive || rel.Images["worker"].Ref != want {
			t.Fatalf("release %d: %s, worker runs %q; want active, %q", next, rel.Status, rel.Images["worker"].Ref, want)
		}
		d.waitQuiet("shop", 10*time.Second)
		next++
	}
	again := genericBody("registry.example.com/worker", "v1", sha("b"))
	if a := d.postHook(daemon.HookPathGeneric, bearer, again); a.status != http.StatusOK || !strings.Contains(a.body, `"duplicate"`) {
		t.Errorf("the last push again: answered %d %s, want 200 duplicate", a.status, a.body)
	}

	// GitHub sends one push as a package and as a registry_package event.
	pkg := githubPayload("1.1.0", sha("a"))
	regPkg := []byte(strings.Replace(string(pkg), `"package":`, `"registry_package":`, 1))
	for i, delivery := range []struct {
		event  string
		body   []byte
		status int
	}{{"package", pkg, http.StatusAccepted}, {"registry_package", regPkg, http.StatusOK}} {
		h := map[string]string{webhook.GitHubEventHeader: delivery.event, webhook.GitHubSignatureHeader: webhook.Sign(githubSecret, delivery.body)}
		if a := d.postHook(daemon.HookPathGitHub, h, delivery.body); a.status != delivery.status || (i == 1 && !strings.Contains(a.body, `"duplicate"`)) {
			t.Errorf("github %s event: answered %d %s, want %d", delivery.event, a.status, a.body, delivery.status)
		}
	}
	d.waitRelease("shop", next, 30*time.Second)
	d.waitQuiet("shop", 10*time.Second)
	if n := len(d.releases("shop")); n != next {
		t.Errorf("%d releases, want %d: the CLI's, three of worker, one of api", n, next)
	}
}

// Another method than POST on a hook's path is a 405 naming POST; another
// path is a 404.
func TestHooks_OtherMethodsAreNotAllowed(t *testing.T) {
	d := startHookDaemon(t, shopEngine(), nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, daemon.HookPathRegistry, http.StatusMethodNotAllowed},
		{http.MethodPut, daemon.HookPathGeneric, http.StatusMethodNotAllowed},
		{http.MethodGet, daemon.HookPathGitHub, http.StatusMethodNotAllowed},
		{http.MethodDelete, "/hooks/dockerhub/" + hubToken, http.StatusMethodNotAllowed},
		{http.MethodGet, "/hooks/gitlab", http.StatusNotFound},
		{http.MethodPost, "/hooks/gitlab", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tc.method, d.hookURL(tc.path), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: answered %d %s, want %d", tc.method, webhook.RedactPath(tc.path), resp.StatusCode, body, tc.status)
		}
		if allow := resp.Header.Get("Allow"); tc.status == http.StatusMethodNotAllowed && allow != http.MethodPost {
			t.Errorf("%s %s: Allow %q, want POST", tc.method, webhook.RedactPath(tc.path), allow)
		}
	}
	if strings.Contains(d.logs.String(), hubToken) {
		t.Error("the daemon's log holds the docker hub token")
	}
}

// A registry host override that is not host[:port] would make every
// registry notification unreadable (answered 200, so never retried): serve
// refuses it at start, naming the flag and the value.
func TestHooks_ServeRefusesABadRegistryHost(t *testing.T) {
	t.Setenv(cli.EnvServer, "")
	for _, host := range []string{"https://127.0.0.1:47500", "http://bad host", "127.0.0.1:5000/", "registry"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r := run(t, ctx, shortTempDir(t), "serve", "--hooks-listen", "127.0.0.1:0", "--hooks-registry-host", host)
		cancel()
		if r.code != cli.ExitBadInput || !strings.Contains(r.stderr, "--hooks-registry-host") || !strings.Contains(r.stderr, host) {
			t.Errorf("serve --hooks-registry-host %q: exit %d, stderr %q; want exit %d naming the flag and the value", host, r.code, r.stderr, cli.ExitBadInput)
		}
	}
}

// startTwoShops is a hook daemon with stack shop (global secrets) and
// stack shop2, which names its own generic secret (shop2-secret).
func startTwoShops(t *testing.T) *testDaemon {
	t.Helper()
	d := startHookDaemon(t, shopEngine(), func(c *daemon.Config) {
		c.Hooks.Getenv = func(name string) string {
			if name == "SHOP2_HOOK_SECRET" {
				return "shop2-secret"
			}
			return ""
		}
	})
	mustRun(t, d.stateDir, "deploy", "-f", writeCompose(t, "shop", shopCompose))
	own := strings.Replace(shopCompose, "name: shop\nx-cutover:\n", "name: shop2\nx-cutover:\n  hooks: {generic_secret_env: SHOP2_HOOK_SECRET}\n", 1)
	mustRun(t, d.stateDir, "deploy", "-f", writeCompose(t, "shop2", own))
	return d
}
