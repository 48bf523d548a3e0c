package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cutover/cutover/lb"
)

// process is one program under test: its address and how to sample the
// CPU time it used (all its processes, e.g. nginx's workers).
type process struct {
	addr string
	pids func() []int
}

// cpuTime is the CPU time (user + system) the processes used so far, or
// -1 where /proc does not tell.
func (p process) cpuTime() time.Duration {
	if p.pids == nil {
		return -1
	}
	var total time.Duration
	for _, pid := range p.pids() {
		// utime is the 14th field and stime the 15th, in clock ticks
		// (USER_HZ, 100 on Linux).
		f, ok := statFields(strconv.Itoa(pid))
		if !ok || len(f) < 13 {
			return -1
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

// statFields returns the fields of /proc/<pid>/stat after the command (in
// parentheses, which may hold spaces): the state first, then the 4th field
// on (ppid …).
func statFields(pid string) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return nil, false
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), true
}

// childrenOf lists the processes whose parent is pid (nginx's workers).
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// ppid is the 4th field.
		if f, ok := statFields(e.Name()); ok && len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// buildTestApp builds internal/testapp into dir.
func buildTestApp(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module (run from the repository): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", errors.New("not inside the cutover module: run from the repository")
	}
	bin := filepath.Join(dir, "testapp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./internal/testapp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the test app: %w: %s", err, out)
	}
	return bin, nil
}

// startTestApp runs the test app on a free loopback port.
func startTestApp(ctx context.Context, app, dir string) (process, func() error, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return process{}, nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "testapp.log"))
	if err != nil {
		return process{}, nil, err
	}
	cmd := exec.Command(app)
	cmd.Env = append(os.Environ(), "TESTAPP_LISTEN="+addr, "TESTAPP_VERSION=bench")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return process{}, nil, fmt.Errorf("starting the test app: %w", err)
	}
	stop := func() error {
		defer logf.Close()
		return stopChild(cmd, syscall.SIGTERM)
	}
	if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
		return process{}, nil, errors.Join(fmt.Errorf("test app: %w", err), stop())
	}
	return process{addr: addr, pids: func() []int { return []int{cmd.Process.Pid} }}, stop, nil
}

// startProxyProcess re-executes this binary as the proxy in front of
// backend and reads the address it listens on. cpuProfile, when set, is
// where the proxy writes its CPU profile.
func startProxyProcess(ctx context.Context, backend, dir, cpuProfile string) (process, func() error, error) {
	self, err := os.Executable()
	if err != nil {
		return process{}, nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "proxy.log"))
	if err != nil {
		return process{}, nil, err
	}
	args := []string{"proxy", "-serve", backend}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", cpuProfile)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return process{}, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return process{}, nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return process{}, nil, fmt.Errorf("starting the proxy process: %w", err)
	}
	stop := func() error {
		defer logf.Close()
		stdin.Close() // the proxy exits when its stdin closes
		return stopChild(cmd, syscall.SIGTERM)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return process{}, nil, errors.Join(fmt.Errorf("proxy process gave no address (see %s): %w", logf.Name(), err), stop())
	}
	addr := strings.TrimSpace(line)
	if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
		return process{}, nil, errors.Join(fmt.Errorf("proxy: %w", err), stop())
	}
	return process{addr: addr, pids: func() []int { return []int{cmd.Process.Pid} }}, stop, nil
}

// serveProxy is the proxy process: one route to backend with the default
// health probe, its address on stdout, until stdin closes or ctx ends.
func serveProxy(ctx context.Context, backend, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	p := lb.NewProxy(nil)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(cctx)
	}()
	const route = "bench/web"
	if err := p.EnsureRoute(ctx, lb.Route{Name: route, Listen: "127.0.0.1:0", Health: lb.Health{Path: "/healthz"}}); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.CheckTargets(cctx, route, []string{backend}); err != nil {
		return err
	}
	if err := p.SetTargets(ctx, route, []string{backend}); err != nil {
		return err
	}
	addr, err := p.Addr(route)
	if err != nil {
		return err
	}
	fmt.Println(addr)

	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}

// nginxConf proxies to one upstream with keep-alive connections, like
// lb.Proxy does, with the same forwarding headers.
const nginxConf = `%s
worker_processes auto;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[2]s/client_body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream backend {
    server %[3]s;
    keepalive 256;
  }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`

// startNginx runs nginx in the foreground as the current user with a
// generated configuration in dir.
func startNginx(ctx context.Context, nginx, backend, dir string) (process, func() error, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return process{}, nil, err
	}
	// Run as root, nginx would switch its workers to nobody, who cannot
	// use dir: keep them as the current user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, backend, addr), 0o600); err != nil {
		return process{}, nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		return process{}, nil, err
	}
	cmd := exec.Command(nginx, "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return process{}, nil, fmt.Errorf("starting nginx: %w", err)
	}
	stop := func() error {
		defer logf.Close()
		return stopChild(cmd, syscall.SIGQUIT) // graceful shutdown
	}
	if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
		msg, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		out, _ := os.ReadFile(logf.Name())
		return process{}, nil, errors.Join(fmt.Errorf("nginx: %w: %s%s", err, out, msg), stop())
	}
	// The workers serve; the master only watches them.
	return process{addr: addr, pids: func() []int { return childrenOf(cmd.Process.Pid) }}, stop, nil
}

// stopChild signals cmd and waits for it, killing it after 10 s.
func stopChild(cmd *exec.Cmd, sig os.Signal) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
		return nil // an exit status after a signal is expected
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within 10s; killed", filepath.Base(cmd.Path))
	}
}

// waitReady polls url until it answers 200, for up to 10 s.
func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freeLoopbackAddr returns a loopback address with a port nothing listens on.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
