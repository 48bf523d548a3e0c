package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb/dns/bindtest"
)

// TestDNSRouter_RFC2136_RealEngine deploys a blue-green stack with router
// dns in mode rfc2136 against a real BIND, as the CLI does without a
// daemon: each switch updates the record (dig sees the new color's
// address), a rollback switches back and keeps the color it left for the
// keep-old window, and a wrong TSIG key fails the release with BIND's
// answer before anything starts, leaving the record and the serving color
// as they were.
func TestDNSRouter_RFC2136_RealEngine(t *testing.T) {
	dig := digBinary(t)
	named, err := bindtest.Start(t.Context(), t.TempDir(), bindtest.Options{Zone: "example.test."})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = named.Stop() })
	blue, green, port := colorAddrs(t)
	key := "key_file: " + strconv.Quote(filepath.Join(named.Dir, "key.conf")) // the tsig-keygen file bindtest wrote
	e := newRouterEnv(t, "dn", deploy.MuxConfig{}, func(stack, image string) string {
		return dnsStack(stack, image, port, blue, green, fmt.Sprintf("mode: rfc2136\n    server: %s\n    %s", named.Addr, key))
	})
	answer := func() string { return digShort(t, dig, named.Addr, "app.example.test") }

	e.mustDeploy("v1", store.StatusActive, "blue")
	if got := answer(); got != blue {
		t.Fatalf("after release 1 (blue) BIND answers %q, want %s", got, blue)
	}
	mustAnswer(t, net.JoinHostPort(blue, port), "v1")
	e.mustDeploy("v2", store.StatusAwaitingConfirm, "green")
	if got := answer(); got != green {
		t.Fatalf("after release 2 (green) BIND answers %q, want %s", got, green)
	}
	mustAnswer(t, net.JoinHostPort(green, port), "v2")

	e.rollback()
	if got := answer(); got != blue {
		t.Fatalf("after the rollback BIND answers %q, want %s", got, blue)
	}
	if msgs := e.messages(); !strings.Contains(msgs, "keep-old window") {
		t.Errorf("the rollback did not say that green keeps serving for the keep-old window; messages:\n%s", msgs)
	}
	if n := len(e.running("green")); n != 0 {
		t.Errorf("%d green containers still run after the rollback's keep-old window, want none", n)
	}

	// The key BIND knows is replaced by a wrong one: the release fails at
	// its first route step, before any container of it starts.
	t.Setenv("CUTOVER_TEST_WRONG_KEY", bindtest.NewSecret())
	key = "key_name: " + named.KeyName + "\n    key_secret_env: CUTOVER_TEST_WRONG_KEY"
	if err := os.WriteFile(e.file, []byte(dnsStack(e.stack, e.images["v1"], port, blue, green,
		fmt.Sprintf("mode: rfc2136\n    server: %s\n    %s", named.Addr, key))), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.deploy("v2")
	switch {
	case err == nil:
		t.Fatal("a deploy with a wrong TSIG key succeeded")
	case !errors.Is(err, deploy.ErrDeployFailed):
		t.Errorf("deploy error %v does not wrap ErrDeployFailed", err)
	case !strings.Contains(err.Error(), "TSIG") || !strings.Contains(err.Error(), named.KeyName):
		t.Errorf("deploy error does not say the server refused the key: %v", err)
	}
	t.Logf("wrong key: %v", err)
	if got := answer(); got != blue {
		t.Errorf("after the refused release BIND answers %q, want %s still", got, blue)
	}
	if n := len(e.running("blue")); n != 1 {
		t.Errorf("after the refused release %d blue containers run, want 1", n)
	}
	mustAnswer(t, net.JoinHostPort(blue, port), "v1")
}

// dnsStack is a blue-green stack with router dns: web publishes port on
// each color's address and answers as app.example.test; dnsBlock holds the
// mode-specific keys of x-cutover.dns.
func dnsStack(stack, image, port, blue, green, dnsBlock string) string {
	return fmt.Sprintf(`name: %s
services:
  web:
    image: %s
    ports: ["%s:8080"]
    x-cutover:
      route:
        host: app.example.test
        health: /healthz
        addresses: {blue: %s, green: %s}
x-cutover:
  strategy: bluegreen
  router: dns
  health_timeout: 30s
  dns:
    zone: example.test.
    ttl: 1s
    keep_old: 1s
    %s
`, stack, image, port, blue, green, dnsBlock)
}

// colorAddrs picks two loopback addresses of a random 127.x.y.0/24 (one
// per color) and a TCP port free on both.
func colorAddrs(t *testing.T) (blue, green, port string) {
	t.Helper()
	for range 20 {
		net3 := fmt.Sprintf("127.%d.%d.", 1+rand.IntN(250), 1+rand.IntN(250))
		blue, green = net3+"11", net3+"12"
		l, err := net.Listen("tcp", blue+":0")
		if err != nil {
			continue
		}
		_, port, _ = net.SplitHostPort(l.Addr().String())
		l.Close()
		if l2, err := net.Listen("tcp", net.JoinHostPort(green, port)); err == nil {
			l2.Close()
			return blue, green, port
		}
	}
	t.Fatal("no free port on two loopback addresses")
	return "", "", ""
}

// digBinary finds dig, failing the test when it is missing.
func digBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dig")
	if err != nil {
		t.Fatalf("dig not found: %s", bindtest.DepsHint)
	}
	return p
}

// digShort runs `dig @server -p PORT name +short` and returns its answer.
func digShort(t *testing.T, dig, server, name string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, dig, "@"+host, "-p", port, name, "+short", "+tries=2", "+time=2").CombinedOutput()
	if err != nil {
		t.Fatalf("dig @%s -p %s %s: %v: %s", host, port, name, err, out)
	}
	return strings.TrimSpace(string(out))
}
