package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cutover/cutover/lb"
)

// Targets the proxy benchmark prints next to its figures.
const (
	targetThroughputRatio = 0.60
	targetAddedLatency    = 100 * time.Microsecond
)

// benchDepsHint tells how to get the load generator and nginx.
const benchDepsHint = "run scripts/deps.sh (installs the Debian packages wrk and nginx)"

// runProxy measures the built-in proxy's overhead: wrk against the test app
// directly, through lb.Proxy and through nginx, in one run. The proxy runs in
// a process of its own (this binary, re-executed with -serve), so that it
// does not share a Go runtime with anything else; the backend is the
// project's test app, also a process of its own.
func runProxy(ctx context.Context, out io.Writer, args []string) (err error) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "length of each throughput run")
	latencyDuration := fs.Duration("latency-duration", 5*time.Second, "length of each single-connection latency run")
	connections := fs.Int("connections", 32, "wrk connections of the throughput runs")
	threads := fs.Int("threads", 2, "wrk threads of the throughput runs")
	rounds := fs.Int("rounds", 1, "measure direct, proxy and nginx in turn this many times and report each figure's median (steadier on a busy machine)")
	serve := fs.String("serve", "", "internal: run the proxy in front of `ADDR` and print its address")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *serve != "" {
		return serveProxy(ctx, *serve)
	}
	if *duration < time.Second || *latencyDuration < time.Second || *connections < 1 || *threads < 1 || *rounds < 1 || fs.NArg() > 0 {
		return errors.New("-duration and -latency-duration must be at least 1s, -connections, -threads and -rounds at least 1, and no arguments follow the flags")
	}
	if *threads > *connections {
		*threads = *connections
	}

	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk not found: %s", benchDepsHint)
	}
	nginx, err := lookNginx()
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "cutover-bench-proxy-")
	if err != nil {
		return err
	}
	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			err = errors.Join(err, stops[i]())
		}
		err = errors.Join(err, os.RemoveAll(tmp))
	}()

	app, err := buildTestApp(ctx, tmp)
	if err != nil {
		return err
	}
	backend, stop, err := startTestApp(ctx, app, tmp)
	if err != nil {
		return err
	}
	stops = append(stops, stop)
	proxyAddr, stop, err := startProxyProcess(ctx, backend, tmp)
	if err != nil {
		return err
	}
	stops = append(stops, stop)
	nginxAddr, stop, err := startNginx(ctx, nginx, backend, tmp)
	if err != nil {
		return err
	}
	stops = append(stops, stop)

	fmt.Fprintf(out, "proxy overhead: test app on %s; wrk -t%d -c%d -d%s for throughput, -t1 -c1 -d%s for latency\n",
		backend, *threads, *connections, *duration, *latencyDuration)
	fmt.Fprintf(out, "lb.Proxy in its own process on %s; nginx (worker_processes auto, upstream keepalive) on %s\n",
		proxyAddr, nginxAddr)
	fmt.Fprintf(out, "%d CPUs, load average %s (load generator, proxies and backend share them)\n\n", runtime.NumCPU(), loadAverage())

	subjects := []struct{ name, addr string }{
		{"direct", backend}, {"proxy", proxyAddr}, {"nginx", nginxAddr},
	}
	runs := make([][]wrkPair, len(subjects)) // per subject, one per round
	for round := range *rounds {
		for i, s := range subjects {
			url := "http://" + s.addr + "/"
			var r wrkPair
			// Warm up: open the keep-alive connections, let the runtimes grow.
			if _, err := runWrk(ctx, wrk, url, *threads, *connections, time.Second); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if r.load, err = runWrk(ctx, wrk, url, *threads, *connections, *duration); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if r.single, err = runWrk(ctx, wrk, url, 1, 1, *latencyDuration); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			runs[i] = append(runs[i], r)
		}
		if *rounds > 1 {
			fmt.Fprintf(out, "round %d/%d done\n", round+1, *rounds)
		}
	}
	results := make([]wrkPair, len(subjects))
	for i := range subjects {
		results[i] = medianPair(runs[i])
	}
	if *rounds > 1 {
		fmt.Fprintf(out, "\nmedians of %d rounds:\n", *rounds)
	}
	printProxyTable(out, []string{subjects[0].name, subjects[1].name, subjects[2].name}, results)
	return nil
}

// wrkPair is one subject's figures: under load and at one connection.
type wrkPair struct{ load, single wrkResult }

// medianPair takes the median of each figure over rounds; errors add up.
func medianPair(rs []wrkPair) wrkPair {
	var m wrkPair
	pick := func(get func(wrkPair) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	dur := func(get func(wrkPair) time.Duration) time.Duration {
		return time.Duration(pick(func(r wrkPair) float64 { return float64(get(r)) }))
	}
	m.load.rps = pick(func(r wrkPair) float64 { return r.load.rps })
	m.load.p50 = dur(func(r wrkPair) time.Duration { return r.load.p50 })
	m.load.p99 = dur(func(r wrkPair) time.Duration { return r.load.p99 })
	m.single.rps = pick(func(r wrkPair) float64 { return r.single.rps })
	m.single.p50 = dur(func(r wrkPair) time.Duration { return r.single.p50 })
	m.single.p99 = dur(func(r wrkPair) time.Duration { return r.single.p99 })
	for _, r := range rs {
		m.load.errors += r.load.errors
		m.single.errors += r.single.errors
	}
	return m
}

func printProxyTable(out io.Writer, names []string, r []wrkPair) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\treq/s\tp50\tp99\tp50 @c1\tp99 @c1\terrors\tvs direct\t")
	direct := r[0]
	for i, name := range names {
		ratio := "-"
		if i > 0 && direct.load.rps > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*r[i].load.rps/direct.load.rps)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t\n", name, r[i].load.rps,
			micros(r[i].load.p50), micros(r[i].load.p99), micros(r[i].single.p50), micros(r[i].single.p99),
			r[i].load.errors+r[i].single.errors, ratio)
	}
	tw.Flush()
	fmt.Fprintln(out)

	proxy, nginx := r[1], r[2]
	ratio := proxy.load.rps / direct.load.rps
	added := proxy.single.p50 - direct.single.p50
	fmt.Fprintf(out, "proxy throughput: %.0f %% of direct (target ≥ %.0f %%) %s; nginx: %.0f %% of direct\n",
		100*ratio, 100*targetThroughputRatio, meets(ratio >= targetThroughputRatio),
		100*nginx.load.rps/direct.load.rps)
	fmt.Fprintf(out, "p50 added latency at 1 connection: proxy %s (target ≤ %s) %s; nginx %s\n",
		signedMicros(added), micros(targetAddedLatency), meets(added <= targetAddedLatency),
		signedMicros(nginx.single.p50-direct.single.p50))
	if errs := proxy.load.errors + proxy.single.errors; errs > 0 {
		fmt.Fprintf(out, "proxy: %d socket errors or non-2xx answers\n", errs)
	}
}

func meets(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func micros(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }

func signedMicros(d time.Duration) string { return fmt.Sprintf("%+dµs", d.Microseconds()) }

// wrkResult is what the benchmark reads from wrk's report.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64 // socket errors and non-2xx/3xx answers
}

func runWrk(ctx context.Context, wrk, url string, threads, conns int, d time.Duration) (wrkResult, error) {
	cmd := exec.CommandContext(ctx, wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(int(d.Round(time.Second).Seconds()))+"s", "--latency", url)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, outb)
	}
	return parseWrk(string(outb))
}

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkPercent = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	wrkSocket  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads requests per second, p50, p99 and errors from wrk
// --latency output.
func parseWrk(s string) (wrkResult, error) {
	var r wrkResult
	m := wrkRPS.FindStringSubmatch(s)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output:\n%s", s)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	units := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}
	for _, m := range wrkPercent.FindAllStringSubmatch(s, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return r, err
		}
		d := time.Duration(v * float64(units[m[3]]))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no latency distribution in wrk output (was --latency given?):\n%s", s)
	}
	if m := wrkSocket.FindStringSubmatch(s); m != nil {
		for _, n := range m[1:] {
			v, _ := strconv.ParseInt(n, 10, 64)
			r.errors += v
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(s); m != nil {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		r.errors += v
	}
	return r, nil
}

// loadAverage is the 1-minute load average, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// lookNginx finds nginx in PATH or where Debian puts it (/usr/sbin is not
// in every user's PATH).
func lookNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", fmt.Errorf("nginx not found: %s", benchDepsHint)
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
func startTestApp(ctx context.Context, app, dir string) (string, func() error, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "testapp.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(app)
	cmd.Env = append(os.Environ(), "TESTAPP_LISTEN="+addr, "TESTAPP_VERSION=bench")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, fmt.Errorf("starting the test app: %w", err)
	}
	stop := func() error {
		defer logf.Close()
		return stopChild(cmd, syscall.SIGTERM)
	}
	if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
		return "", nil, errors.Join(fmt.Errorf("test app: %w", err), stop())
	}
	return addr, stop, nil
}

// startProxyProcess re-executes this binary as the proxy in front of
// backend and reads the address it listens on.
func startProxyProcess(ctx context.Context, backend, dir string) (string, func() error, error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "proxy.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "proxy", "-serve", backend)
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, fmt.Errorf("starting the proxy process: %w", err)
	}
	stop := func() error {
		defer logf.Close()
		stdin.Close() // the proxy exits when its stdin closes
		return stopChild(cmd, syscall.SIGTERM)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("proxy process gave no address (see %s): %w", logf.Name(), err), stop())
	}
	addr := strings.TrimSpace(line)
	if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
		return "", nil, errors.Join(fmt.Errorf("proxy: %w", err), stop())
	}
	return addr, stop, nil
}

// serveProxy is the proxy process: one route to backend with the default
// health probe, its address on stdout, until stdin closes or ctx ends.
func serveProxy(ctx context.Context, backend string) error {
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
func startNginx(ctx context.Context, nginx, backend, dir string) (string, func() error, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return "", nil, err
	}
	// Run as root, nginx would switch its workers to nobody, who cannot
	// use dir: keep them as the current user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, backend, addr), 0o600); err != nil {
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(nginx, "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, fmt.Errorf("starting nginx: %w", err)
	}
	stop := func() error {
		defer logf.Close()
		return stopChild(cmd, syscall.SIGQUIT) // graceful shutdown
	}
	if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
		msg, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		out, _ := os.ReadFile(logf.Name())
		return "", nil, errors.Join(fmt.Errorf("nginx: %w: %s%s", err, out, msg), stop())
	}
	return addr, stop, nil
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
