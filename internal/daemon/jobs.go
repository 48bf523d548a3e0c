package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/cutover/cutover/internal/daemon/api"
)

// ErrShuttingDown: the daemon is stopping and starts no new operation.
var ErrShuttingDown = errors.New("the cutover daemon is shutting down")

// Why jobs are cancelled; a cancelled deploy records it as its reason.
var (
	errAbortedByUser = errors.New("aborted by cutover abort")
	errShutdown      = errors.New("the cutover daemon shut down before the operation ended (serve --shutdown-timeout)")
)

// jobs tracks the operations that change a stack while they run, so abort
// can cancel them and shutdown can wait for them.
type jobs struct {
	mu      sync.Mutex
	running map[*job]struct{}
	closed  bool // cancelAll ran: new jobs start cancelled
	idle    chan struct{}
}

type job struct {
	stack  string
	cancel context.CancelCauseFunc
	done   chan struct{}
}

func newJobs() *jobs {
	j := &jobs{running: map[*job]struct{}{}, idle: make(chan struct{})}
	close(j.idle)
	return j
}

// start registers an operation on stack. Its context is ctx, cancelled
// by cancel(stack) or cancelAll; the caller calls done when it ends.
// After cancelAll it refuses with ErrShuttingDown.
func (j *jobs) start(ctx context.Context, stack string) (context.Context, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	jb := &job{stack: stack, cancel: cancel, done: make(chan struct{})}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		cancel(errShutdown)
		return ctx, func() {}, api.EnvError(ErrShuttingDown)
	}
	if len(j.running) == 0 {
		j.idle = make(chan struct{})
	}
	j.running[jb] = struct{}{}
	j.mu.Unlock()
	return ctx, func() {
		cancel(nil)
		j.mu.Lock()
		defer j.mu.Unlock()
		delete(j.running, jb)
		close(jb.done)
		if len(j.running) == 0 {
			close(j.idle)
		}
	}, nil
}

// cancel cancels every operation on stack and returns channels that close
// when each has ended.
func (j *jobs) cancel(stack string) []<-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ended []<-chan struct{}
	for jb := range j.running {
		if jb.stack == stack {
			jb.cancel(errAbortedByUser)
			ended = append(ended, jb.done)
		}
	}
	return ended
}

// cancelAll cancels every operation, refuses later ones, and returns how
// many it cancelled.
func (j *jobs) cancelAll() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	for jb := range j.running {
		jb.cancel(errShutdown)
	}
	return len(j.running)
}

// count is how many operations run.
func (j *jobs) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.running)
}

// wait returns when no operation runs, or with ctx's error.
func (j *jobs) wait(ctx context.Context) error {
	j.mu.Lock()
	idle := j.idle
	j.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
