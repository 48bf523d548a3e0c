package nginx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
)

// depsHint says how to get the nginx the tests run.
const depsHint = "run scripts/deps.sh (installs Debian's nginx)"

// nginxBinary finds nginx in PATH or where Debian puts it, and fails the
// test when it is missing.
func nginxBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Fatalf("nginx not found in PATH or /usr/sbin: %s", depsHint)
	return ""
}

// testNginx is a private nginx: its own prefix, configuration, pid file
// and error log, including dir at http level like a user's nginx.conf.
type testNginx struct {
	bin, prefix, conf, dir, pidFile, errorLog string
	cmd                                       *exec.Cmd
	exited                                    chan struct{}
}

const testNginxConf = `%s
worker_processes 2;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[3]s/*.conf;
}
`

// startNginx runs nginx in the foreground (stopped at the end of the
// test) with an empty include directory.
func startNginx(t *testing.T) *testNginx {
	t.Helper()
	n := &testNginx{bin: nginxBinary(t), prefix: t.TempDir(), exited: make(chan struct{})}
	n.dir = filepath.Join(n.prefix, "cutover.d")
	n.conf = filepath.Join(n.prefix, "nginx.conf")
	n.pidFile = filepath.Join(n.prefix, "nginx.pid")
	n.errorLog = filepath.Join(n.prefix, "error.log")
	if err := os.Mkdir(n.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// As root, nginx's workers would run as nobody, who cannot look into
	// the test's private directory: keep them as the current user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	if err := os.WriteFile(n.conf, fmt.Appendf(nil, testNginxConf, user, n.prefix, n.dir), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(n.prefix, "nginx.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	n.cmd = exec.Command(n.bin, n.args()...)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v (%s)", err, depsHint)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(n.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(n.pidFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return n
		}
		select {
		case <-n.exited:
			b, _ := os.ReadFile(out.Name())
			e, _ := os.ReadFile(n.errorLog)
			t.Fatalf("nginx exited at start: %s%s", b, e)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx wrote no pid file within 10s")
		}
	}
}

func (n *testNginx) args(extra ...string) []string {
	return append([]string{n.bin, "-p", n.prefix, "-c", n.conf, "-e", n.errorLog}, extra...)[1:]
}

// stop ends nginx (fast shutdown), killing it after 5 s.
func (n *testNginx) stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// config is a router Config for this nginx.
func (n *testNginx) config() Config {
	return Config{
		Dir:           n.dir,
		Test:          append([]string{n.bin}, n.args("-t")...),
		Reload:        append([]string{n.bin}, n.args("-s", "reload")...),
		PIDFile:       n.pidFile,
		ErrorLog:      n.errorLog,
		ReloadNotice:  200 * time.Millisecond,
		VerifyTimeout: 10 * time.Second,
	}
}

// newRouter returns a router on n, logging to the test.
func newRouter(t *testing.T, cfg Config) *Router {
	t.Helper()
	r, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// backend is an app that answers every request with its name (after
// reading the body) and /healthz with 200; it returns its address.
func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(appHandler(name, nil))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// appHandler answers like backend; slow, when set, is called on /slow
// before the answer.
func appHandler(name string, slow func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/slow" && slow != nil {
			slow()
		}
		w.Header().Set("X-Backend", name)
		_, _ = io.WriteString(w, name)
	})
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// answer is what a client saw from one request.
type answer struct {
	body, generation string
	status           int
}

// get sends GET path to addr on a new connection (Host: host when set),
// like curl would.
func get(t *testing.T, addr, host, path string) answer {
	t.Helper()
	a, err := tryGet(addr, host, path)
	if err != nil {
		t.Fatalf("GET http://%s%s: %v", addr, path, err)
	}
	return a
}

func tryGet(addr, host, path string) (answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return answer{}, err
	}
	if host != "" {
		req.Host = host
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{body: string(b), generation: resp.Header.Get(GenerationHeader), status: resp.StatusCode}, nil
}

// route is a test route on a free port with a health path.
func testRoute(t *testing.T, name string) lb.Route {
	return lb.Route{Name: name, Listen: freeAddr(t), Health: lb.Health{Path: "/healthz"}, DrainTimeout: 5 * time.Second}
}

// switchTo checks addrs and makes them the route's targets.
func switchTo(t *testing.T, r *Router, route string, addrs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.CheckTargets(ctx, route, addrs); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTargets(ctx, route, addrs); err != nil {
		t.Fatal(err)
	}
}

func ensure(t *testing.T, r *Router, route lb.Route) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.EnsureRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// serve runs h on a loopback port for the test and returns its address.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// unhealthyBackend answers /healthz with 503.
func unhealthyBackend(t *testing.T) string {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unhealthy", http.StatusServiceUnavailable)
	}))
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
