// Package nginxtest runs a private nginx for tests and benchmarks of the
// nginx router outside package nginx: its own prefix, configuration, pid
// file and error log in a directory of the caller's (a test's
// t.TempDir()), including a cutover directory at http level like a user's
// nginx.conf. It needs the Debian package nginx.
package nginxtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DepsHint tells how to get nginx.
const DepsHint = "run scripts/deps.sh (installs Debian's nginx)"

// Nginx is a running private nginx.
type Nginx struct {
	Bin    string
	Prefix string // everything lives here
	Conf   string // nginx.conf
	// Dir is the directory the configuration includes at http level for
	// cutover (the router's Config.Dir).
	Dir string
	// UserDir is included at http level too, before Dir: a test puts its
	// own server blocks there (a conflicting default server …).
	UserDir  string
	PIDFile  string
	ErrorLog string

	cmd    *exec.Cmd
	out    string
	exited chan struct{}
}

const conf = `%s
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
    include %[4]s/*.conf;
}
`

// Find returns the path of nginx, or an error pointing to the project's
// deps script.
func Find() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", fmt.Errorf("nginx not found in PATH or /usr/sbin: %s", DepsHint)
}

// Start writes a configuration in dir and runs nginx in the foreground
// with empty include directories, returning once it wrote its pid file.
// Stop it with Stop.
func Start(ctx context.Context, dir string) (*Nginx, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	n := &Nginx{Bin: bin, Prefix: dir, Conf: filepath.Join(dir, "nginx.conf"), Dir: filepath.Join(dir, "cutover.d"),
		UserDir: filepath.Join(dir, "user.d"), PIDFile: filepath.Join(dir, "nginx.pid"), ErrorLog: filepath.Join(dir, "error.log"),
		out: filepath.Join(dir, "nginx.out"), exited: make(chan struct{})}
	for _, d := range []string{n.Dir, n.UserDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// As root, nginx's workers would run as nobody, who cannot look into a
	// test's private directory: keep them as the current user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	if err := os.WriteFile(n.Conf, fmt.Appendf(nil, conf, user, n.Prefix, n.UserDir, n.Dir), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(n.out)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	n.cmd = exec.Command(bin, n.args()...)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting nginx: %w (%s)", err, DepsHint)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if b, err := os.ReadFile(n.PIDFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return n, nil
		}
		select {
		case <-n.exited:
			return nil, fmt.Errorf("nginx exited at start: %s", n.Log())
		case <-ctx.Done():
			_ = n.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			_ = n.Stop()
			return nil, errors.New("nginx wrote no pid file within 10s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Nginx) args(extra ...string) []string {
	return append([]string{"-p", n.Prefix, "-c", n.Conf, "-e", n.ErrorLog}, extra...)
}

// Test is the argv that tests this nginx's configuration (the router's
// Config.Test, x-cutover.nginx.test).
func (n *Nginx) Test() []string { return append([]string{n.Bin}, n.args("-t")...) }

// Reload is the argv that reloads this nginx (Config.Reload,
// x-cutover.nginx.reload).
func (n *Nginx) Reload() []string { return append([]string{n.Bin}, n.args("-s", "reload")...) }

// Log returns what nginx printed and its error log.
func (n *Nginx) Log() string {
	out, _ := os.ReadFile(n.out)
	e, _ := os.ReadFile(n.ErrorLog)
	return string(out) + string(e)
}

// Stop ends nginx (fast shutdown), killing it after 5 s.
func (n *Nginx) Stop() error {
	select {
	case <-n.exited:
		return nil
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
	return nil
}
