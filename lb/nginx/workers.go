package nginx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procDir is where the process table is read (Linux).
const procDir = "/proc"

// workerSet is the children of nginx's master process (its workers, and
// cache manager or loader) at one moment. After a reload, the ones that
// existed before it finish the requests they have, on the targets of the
// previous configuration, and exit: a switch waits for them to be gone.
type workerSet struct {
	master int
	pids   []int
}

// snapshotWorkers lists the master's children, from the pid file and
// /proc. ok is false when they cannot be known (no pid file, nginx in
// another PID namespace, no /proc).
func snapshotWorkers(pidFile string) (ws workerSet, ok bool) {
	if pidFile == "" {
		return ws, false
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return ws, false
	}
	master, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || master <= 0 {
		return ws, false
	}
	// The pid must be an nginx master as this process sees it (not a pid
	// from another PID namespace that happens to exist here).
	if _, _, alive := procStat(master); !alive || !strings.Contains(cmdline(master), "nginx") {
		return ws, false
	}
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return ws, false
	}
	ws.master = master
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, alive := procStat(pid); alive && ppid == master {
			ws.pids = append(ws.pids, pid)
		}
	}
	return ws, len(ws.pids) > 0
}

// cmdline is a process's command line (nginx puts its title there), or ""
// when it is gone.
func cmdline(pid int) string {
	b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return string(b)
}

// procStat reads a process's parent and state; alive is false when it is
// gone or a zombie.
func procStat(pid int) (ppid int, state byte, alive bool) {
	b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid …"; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, false
	}
	var st byte
	if _, err := fmt.Sscanf(string(b[i+2:]), "%c %d", &st, &ppid); err != nil {
		return 0, 0, false
	}
	return ppid, st, st != 'Z' && st != 'X'
}

// remaining lists the workers of ws still running.
func (ws workerSet) remaining() []int {
	var out []int
	for _, pid := range ws.pids {
		if ppid, _, alive := procStat(pid); alive && ppid == ws.master {
			out = append(out, pid)
		}
	}
	return out
}

// wait polls until every worker of ws has exited (true), timeout passes
// (false), or ctx ends (its error).
func (ws workerSet) wait(ctx context.Context, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if len(ws.remaining()) == 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-tick.C:
		}
	}
}

// shuttingDown reports whether every worker of ws has stopped taking new
// requests on its kept-alive connections: it exited, or it is a worker
// whose title says it is shutting down. nginx's master tells the old
// workers to quit about 100 ms after it started the new ones; until then
// they serve as before.
func (ws workerSet) shuttingDown() bool {
	for _, pid := range ws.remaining() {
		title := cmdline(pid) // "" when gone
		if strings.Contains(title, "worker process") && !strings.Contains(title, "shutting down") {
			return false
		}
	}
	return true
}

// awaitShutdown polls until ws is shutting down, for at most timeout.
func (ws workerSet) awaitShutdown(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !ws.shuttingDown() {
		if time.Now().After(deadline) || sleep(ctx, 10*time.Millisecond) != nil {
			return false
		}
	}
	return true
}
