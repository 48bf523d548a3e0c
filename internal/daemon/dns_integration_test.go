package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
	"github.com/cutover/cutover/lb/dns"
	"github.com/cutover/cutover/lb/dns/bindtest"
)

// TestDaemonIntegration_BuiltinDNS is router dns with the daemon's
// built-in DNS server (cutover serve --dns-listen --dns-zone), through the
// CLI: each release's switch is the next answer dig gets, status lists the
// route, confirm keeps the old color for the keep-old window and says so,
// and a restarted daemon answers as before.
func TestDaemonIntegration_BuiltinDNS(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Fatalf("dig not found: %s", bindtest.DepsHint)
	}
	w := newDockerWorld(t)
	t.Cleanup(func() { w.removeColors() })
	v2 := strings.Replace(w.good, ":v1", ":v2", 1)
	testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: v2, Version: "v2", Healthcheck: true})
	t.Setenv(cli.EnvServer, "")

	stateDir := shortTempDir(t)
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	srv, stop := startDNSDaemon(t, s, w.eng)
	t.Cleanup(func() { mustRun(t, stateDir, "down", w.stack) }) // runs before the daemon stops

	blue, green, port := loopbackPair(t)
	file := func(image string) string {
		dir := filepath.Join(t.TempDir(), w.stack)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "compose.yaml")
		y := fmt.Sprintf(`services:
  web:
    image: %s
    stop_grace_period: 2s
    ports: ["%s:8080"]
    x-cutover:
      route: {host: app.example.test, health: /healthz, addresses: {blue: %s, green: %s}}
x-cutover:
  strategy: bluegreen
  router: dns
  health_timeout: 30s
  dns: {zone: example.test, ttl: 1s, keep_old: 1s}
`, image, port, blue, green)
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	answer := func(server string) string {
		t.Helper()
		host, p, _ := net.SplitHostPort(server)
		out, err := exec.Command(dig, "@"+host, "-p", p, "app.example.test", "+short", "+tries=2", "+time=2").CombinedOutput()
		if err != nil {
			t.Fatalf("dig @%s -p %s app.example.test: %v: %s", host, p, err, out)
		}
		return strings.TrimSpace(string(out))
	}

	mustRun(t, stateDir, "deploy", "-f", file(w.good), "-p", w.stack)
	if got := answer(srv.DNSAddr()); got != blue {
		t.Fatalf("after release 1 the daemon's DNS server answers %q, want blue's %s", got, blue)
	}
	mustRun(t, stateDir, "deploy", "-f", file(v2), "-p", w.stack)
	if got := answer(srv.DNSAddr()); got != green {
		t.Fatalf("after release 2 the daemon's DNS server answers %q, want green's %s", got, green)
	}
	st := mustRun(t, stateDir, "status", w.stack).stdout
	for _, want := range []string{w.stack + "/web", "app.example.test", net.JoinHostPort(green, port)} {
		if !strings.Contains(st, want) {
			t.Errorf("status after release 2 lacks %q:\n%s", want, st)
		}
	}

	t.Logf("status:\n%s", st)
	conf := mustRun(t, stateDir, "confirm", w.stack)
	t.Logf("confirm:\n%s", conf.stderr)
	if !strings.Contains(conf.stderr, "keep-old window") {
		t.Errorf("confirm did not say the old color keeps serving for the keep-old window:\n%s", conf.stderr)
	}
	if cs := runningIn(t, w, "blue"); cs != 0 {
		t.Errorf("%d blue containers run after confirm, want none", cs)
	}

	// A restarted daemon answers from the table it saved.
	stop()
	srv, _ = startDNSDaemon(t, s, w.eng)
	if got := answer(srv.DNSAddr()); got != green {
		t.Errorf("after a restart the daemon's DNS server answers %q, want green's %s", got, green)
	}
}

// startDNSDaemon starts a daemon on s with a built-in DNS server for
// example.test on a free port, TTL 1s; stop shuts it down (also at the end
// of the test).
func startDNSDaemon(t *testing.T, s *store.Store, eng engine.Engine) (*daemon.Server, func()) {
	t.Helper()
	srv, err := daemon.New(daemon.Config{Store: s, Engine: eng, Version: "test",
		DNS:    &dns.ServerConfig{Listen: "127.0.0.1:0", Zone: "example.test.", TTL: time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// loopbackPair picks two loopback addresses of a random 127.x.y.0/24 (one
// per color) and a TCP port free on both.
func loopbackPair(t *testing.T) (blue, green, port string) {
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

// runningIn counts the running containers of one of w's colors.
func runningIn(t *testing.T, w *dockerWorld, color string) int {
	t.Helper()
	cs, err := w.eng.ListContainers(context.Background(), map[string]string{"com.docker.compose.project": w.stack + "-" + color})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		if c.Running() {
			n++
		}
	}
	return n
}
