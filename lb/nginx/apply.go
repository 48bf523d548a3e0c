package nginx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxLogQuote is how much of nginx's error log an error quotes.
const maxLogQuote = 2 << 10

// oldWorkers are the nginx workers that ran the configuration before a
// reload; watched is false when they could not be listed.
type oldWorkers struct {
	set     workerSet
	watched bool
}

// apply makes next the route's file at path (nil: removes the file),
// has nginx test the configuration, gives clients the reload notice,
// reloads nginx and, unless the route was removed, probes through nginx
// until the new file answers. prev and existed say what the file was.
//
// On failure the file is as it was: after a refused test or a failed
// reload nginx still runs the previous configuration; after a failed
// verify nginx is made to load it again. nginx never loads a file its
// test refused. Call apply holding the lock.
func (r *Router) apply(ctx context.Context, path string, next *routeState, prev []byte, existed bool) (oldWorkers, error) {
	name := filepath.Base(path)
	if next != nil {
		name = next.Route.Name
		content, err := renderRoute(*next, r.cfg.Dir, r.extra)
		if err != nil {
			return oldWorkers{}, fmt.Errorf("route %s: %w", name, err)
		}
		if err := writeAtomic(path, content); err != nil {
			return oldWorkers{}, fmt.Errorf("route %s: %w", name, err)
		}
	} else if err := removeFile(path); err != nil {
		return oldWorkers{}, fmt.Errorf("route %s: removing %s: %w", name, path, err)
	}
	// Undoing must work when ctx has ended (an aborted deploy).
	undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*r.cfg.CommandTimeout)
	defer cancel()
	undo := func(cause error) error {
		if err := restore(path, prev, existed); err != nil {
			return errors.Join(cause, fmt.Errorf("route %s: restoring %s: %w", name, path, err))
		}
		return cause
	}

	if err := run(ctx, r.cfg.Test, r.cfg.CommandTimeout); err != nil {
		return oldWorkers{}, undo(fmt.Errorf("%w: route %s: %s refused, the previous file is back: %w", ErrRejected, name, path, err))
	}

	if r.cfg.ReloadNotice > 0 {
		notice := filepath.Join(r.cfg.Dir, noticeFile)
		if err := writeAtomic(notice, nil); err != nil {
			return oldWorkers{}, undo(fmt.Errorf("route %s: reload notice: %w", name, err))
		}
		defer func() {
			if err := removeFile(notice); err != nil {
				r.log.Error("removing the reload notice: nginx answers Connection: close until it is gone", "file", notice, "err", err)
			}
		}()
		if err := sleep(ctx, r.cfg.ReloadNotice); err != nil {
			return oldWorkers{}, undo(fmt.Errorf("route %s: before the reload: %w", name, err))
		}
	}

	start := time.Now()
	logMark := fileSize(r.cfg.ErrorLog)
	var old oldWorkers
	old.set, old.watched = snapshotWorkers(r.cfg.PIDFile)
	if err := run(ctx, r.cfg.Reload, r.cfg.CommandTimeout); err != nil {
		return oldWorkers{}, undo(fmt.Errorf("%w: route %s: %w", ErrReload, name, err))
	}
	r.log.Debug("nginx reloaded", "route", name, "took", time.Since(start))
	if next == nil {
		r.holdNotice(ctx, old)
		return old, nil
	}

	res, err := verifyServed(ctx, r.cfg.ProbeAddr(next.Route), next.Route, next.Generation, len(next.servers()) > 0, r.cfg.VerifyTimeout)
	if err != nil {
		err = undo(fmt.Errorf("%w%s", err, r.logSince(logMark)))
		if rerr := r.reloadPrevious(undoCtx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return oldWorkers{}, err
	}
	r.log.Debug("nginx serves the new file", "route", name, "generation", next.Generation, "after", time.Since(start))
	if r.cfg.ReloadNotice > 0 && !res.noticed {
		r.warnNotice()
	}
	r.holdNotice(ctx, old)
	return old, nil
}

// holdNotice keeps the reload notice until the workers of the previous
// configuration are shutting down: they serve for about 100 ms after the
// reload, and a connection they keep alive meanwhile they would close
// under its client when they quit. When they cannot be watched it waits
// ReloadNotice again.
func (r *Router) holdNotice(ctx context.Context, old oldWorkers) {
	if r.cfg.ReloadNotice <= 0 {
		return
	}
	if !old.watched {
		_ = sleep(ctx, r.cfg.ReloadNotice)
		return
	}
	if !old.set.awaitShutdown(ctx, r.cfg.VerifyTimeout) {
		r.log.Warn("nginx workers of the previous configuration are not shutting down", "workers", old.set.remaining())
	}
}

// reloadPrevious has nginx load the configuration again after a failed
// switch put the previous file back.
func (r *Router) reloadPrevious(ctx context.Context) error {
	if err := run(ctx, r.cfg.Test, r.cfg.CommandTimeout); err != nil {
		return fmt.Errorf("testing the previous configuration again: %w", err)
	}
	if err := run(ctx, r.cfg.Reload, r.cfg.CommandTimeout); err != nil {
		return fmt.Errorf("reloading the previous configuration: %w", err)
	}
	return nil
}

// warnNotice says, once, that nginx ignored the notice file.
func (r *Router) warnNotice() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warned {
		return
	}
	r.warned = true
	r.log.Warn("nginx answered without Connection: close during the reload notice: its workers cannot see the notice file "+
		"(is the directory searchable by nginx's worker user?); keep-alive clients may see errors at each reload",
		"file", filepath.Join(r.cfg.Dir, noticeFile))
}

// fileSize is path's size, or -1 when it is unset or unreadable.
func fileSize(path string) int64 {
	if path == "" {
		return -1
	}
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// logSince quotes what nginx wrote to its error log after mark (the end
// of it), or "" without a log.
func (r *Router) logSince(mark int64) string {
	if mark < 0 {
		return ""
	}
	f, err := os.Open(r.cfg.ErrorLog)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size()-mark > maxLogQuote {
		mark = fi.Size() - maxLogQuote
	}
	if _, err := f.Seek(mark, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLogQuote))
	if err != nil {
		return ""
	}
	// Notices ("signal process started", "reconfiguring") say nothing of
	// why nginx did not take the file.
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, level := range []string{"[warn]", "[error]", "[crit]", "[alert]", "[emerg]"} {
			if strings.Contains(l, level) {
				lines = append(lines, strings.TrimSpace(l))
				break
			}
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "; nginx error log: " + strings.Join(lines, "; ")
}
