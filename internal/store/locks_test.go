package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race the child would otherwise sleep a second before exiting.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run child: %v", err)
	}
	return cmd.Process.Pid
}

func TestAcquireAndConflict(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), WithClock(newClock().Now))
	l, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 3})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if l.Token == "" || l.PID != os.Getpid() || l.Host != host || !l.StartedAt.After(t0) || l.Release != 3 {
		t.Errorf("acquired %+v", l)
	}
	held, ok, err := s.GetLock(ctx, "hello")
	if err != nil || !ok || held != l {
		t.Errorf("GetLock = %+v, %v, %v; want %+v", held, ok, err, l)
	}

	_, err = s.Acquire(ctx, Lock{Stack: "hello", Release: 4})
	if !errors.Is(err, ErrStackLocked) {
		t.Fatalf("second Acquire: err = %v, want ErrStackLocked", err)
	}
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("err %T is not a *LockedError", err)
	}
	if le.Lock != l || le.Stale {
		t.Errorf("LockedError = %+v, want holder %+v, not stale", le, l)
	}

	// Another stack is not affected.
	if _, err := s.Acquire(ctx, Lock{Stack: "other"}); err != nil {
		t.Errorf("Acquire other stack: %v", err)
	}
	if _, _, err := s.GetLock(ctx, "none"); err != nil {
		t.Error(err)
	}
	if _, ok, _ := s.GetLock(ctx, "none"); ok {
		t.Error("GetLock reports a lock nobody took")
	}
	if _, err := s.Acquire(ctx, Lock{}); err == nil {
		t.Error("Acquire without a stack succeeded")
	}
}

func TestAcquireSameTokenUpdates(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), WithClock(newClock().Now))
	l, err := s.Acquire(ctx, Lock{Stack: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	l2 := l
	l2.Release = 7
	got, err := s.Acquire(ctx, l2)
	if err != nil {
		t.Fatalf("re-Acquire with own token: %v", err)
	}
	if got.Release != 7 || !got.StartedAt.Equal(l.StartedAt) || got.Token != l.Token {
		t.Errorf("re-acquired %+v, first %+v", got, l)
	}
	held, _, err := s.GetLock(ctx, "hello")
	if err != nil || held != got {
		t.Errorf("stored %+v, %v; want %+v", held, err, got)
	}
}

func TestLockedErrorMessage(t *testing.T) {
	started := time.Date(2026, 11, 22, 4, 30, 0, 0, time.UTC)
	tests := []struct {
		desc string
		err  *LockedError
		want string
	}{
		{
			desc: "with release",
			err:  &LockedError{Lock: Lock{Stack: "hello", Release: 3, PID: 1234, Host: "x", StartedAt: started}},
			want: `stack "hello" is being deployed by release 3 (pid 1234 on host x, started 2026-11-22T04:30:00Z)`,
		},
		{
			desc: "before the release is numbered",
			err:  &LockedError{Lock: Lock{Stack: "hello", PID: 1234, Host: "x", StartedAt: started}},
			want: `stack "hello" is being deployed (pid 1234 on host x, started 2026-11-22T04:30:00Z)`,
		},
		{
			desc: "local time shown in UTC",
			err:  &LockedError{Lock: Lock{Stack: "hello", Release: 3, PID: 1234, Host: "x", StartedAt: started.In(time.FixedZone("CET", 3600))}},
			want: `stack "hello" is being deployed by release 3 (pid 1234 on host x, started 2026-11-22T04:30:00Z)`,
		},
		{
			desc: "stale",
			err:  &LockedError{Lock: Lock{Stack: "hello", Release: 3, PID: 1234, Host: "x", StartedAt: started}, Stale: true},
			want: `stack "hello" is being deployed by release 3 (pid 1234 on host x, started 2026-11-22T04:30:00Z); that process no longer exists, so the lock is stale`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !errors.Is(tt.err, ErrStackLocked) {
				t.Error("does not unwrap to ErrStackLocked")
			}
		})
	}

	// The same message comes out of Acquire, with the holder's fields.
	ctx := context.Background()
	s := openStore(t, t.TempDir(), WithClock(func() time.Time { return started }))
	if _, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 3, PID: 1234, Host: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 4})
	if err == nil || err.Error() != tests[0].want {
		t.Errorf("Acquire error %q, want %q", err, tests[0].want)
	}
}

func TestReleaseLock(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	l, err := s.Acquire(ctx, Lock{Stack: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	wrong := l
	wrong.Token = "not-the-token"
	tests := []struct {
		desc      string
		lock      Lock
		wantErr   error
		stillHeld bool
	}{
		{desc: "wrong token", lock: wrong, wantErr: ErrStackLocked, stillHeld: true},
		{desc: "no token", lock: Lock{Stack: "hello"}, wantErr: ErrStackLocked, stillHeld: true},
		{desc: "holder", lock: l},
		{desc: "already released", lock: l, wantErr: ErrNotLocked},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := s.Release(ctx, tt.lock)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == ErrStackLocked {
				var le *LockedError
				if !errors.As(err, &le) || le.Lock != l {
					t.Errorf("error does not carry the holder: %v", err)
				}
			}
			_, held, err := s.GetLock(ctx, "hello")
			if err != nil {
				t.Fatal(err)
			}
			if held != tt.stillHeld {
				t.Errorf("held = %v, want %v", held, tt.stillHeld)
			}
		})
	}
}

func TestUnlock(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	l, err := s.Acquire(ctx, Lock{Stack: "hello", PID: 1234, Host: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Unlock(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got != l {
		t.Errorf("Unlock returned %+v, want %+v", got, l)
	}
	if _, held, _ := s.GetLock(ctx, "hello"); held {
		t.Error("lock still there after Unlock")
	}
	if _, err := s.Unlock(ctx, "hello"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("second Unlock: err = %v, want ErrNotLocked", err)
	}
	if _, err := s.Acquire(ctx, Lock{Stack: "hello"}); err != nil {
		t.Errorf("Acquire after Unlock: %v", err)
	}
	if err := s.Release(ctx, l); !errors.Is(err, ErrStackLocked) {
		t.Errorf("old holder's Release after Unlock: err = %v, want ErrStackLocked", err)
	}
}

func TestStaleLock(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dead := deadPID(t)

	tests := []struct {
		desc  string
		lock  Lock
		stale bool
	}{
		{desc: "dead process on this host", lock: Lock{PID: dead, Host: host}, stale: true},
		{desc: "dead pid on another host", lock: Lock{PID: dead, Host: host + "-other"}},
		{desc: "this process", lock: Lock{PID: os.Getpid(), Host: host}},
		{desc: "pid 1, alive (EPERM unless root)", lock: Lock{PID: 1, Host: host}},
		{desc: "no pid", lock: Lock{PID: -1, Host: host}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := s.IsStale(tt.lock); got != tt.stale {
				t.Errorf("IsStale = %v, want %v", got, tt.stale)
			}
		})
	}

	// Acquire reports a stale lock but does not take it over.
	held, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 2, PID: dead})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Acquire(ctx, Lock{Stack: "hello", Release: 3})
	var le *LockedError
	if !errors.As(err, &le) || !le.Stale {
		t.Fatalf("Acquire over a dead holder: err = %v, want stale *LockedError", err)
	}
	if !strings.Contains(err.Error(), "stale") {
		t.Errorf("message does not say stale: %v", err)
	}
	if got, _, _ := s.GetLock(ctx, "hello"); got != held {
		t.Errorf("stale lock was replaced: %+v", got)
	}
	// Waiting cannot help, so AcquireWait fails at once.
	start := time.Now()
	if _, err := s.AcquireWait(ctx, Lock{Stack: "hello"}, 10*time.Second); !errors.As(err, &le) || !le.Stale {
		t.Errorf("AcquireWait over a dead holder: err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("AcquireWait over a dead holder took %v", d)
	}
	// Unlock clears it.
	if _, err := s.Unlock(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 3}); err != nil {
		t.Errorf("Acquire after Unlock: %v", err)
	}
}

func TestAcquireWait(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openStore(t, dir) // the running deploy
	b := openStore(t, dir) // a second process, queued with --lock-wait

	holder, err := a.Acquire(ctx, Lock{Stack: "hello", Release: 1})
	if err != nil {
		t.Fatal(err)
	}
	const hold = 300 * time.Millisecond
	released := make(chan error, 1)
	go func() {
		time.Sleep(hold)
		released <- a.Release(ctx, holder)
	}()
	start := time.Now()
	got, err := b.AcquireWait(ctx, Lock{Stack: "hello", Release: 2}, 10*time.Second)
	if err != nil {
		t.Fatalf("AcquireWait: %v", err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < hold-50*time.Millisecond || d > 5*time.Second {
		t.Errorf("AcquireWait returned after %v; the holder released after %v", d, hold)
	}
	if got.Release != 2 || got.Token == "" || got.Token == holder.Token {
		t.Errorf("acquired %+v", got)
	}
}

func TestAcquireWaitGivesUp(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		timeout time.Duration // context timeout; 0: none
		wait    time.Duration
		wantErr error
	}{
		{desc: "no wait", wait: 0, wantErr: ErrStackLocked},
		{desc: "wait elapses", wait: 300 * time.Millisecond, wantErr: ErrStackLocked},
		{desc: "context deadline", timeout: 300 * time.Millisecond, wait: time.Minute, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ctx := ctx
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := s.AcquireWait(ctx, Lock{Stack: "hello", Release: 2}, tt.wait)
			d := time.Since(start)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// Whatever ended the wait, the error says who holds the lock.
			var le *LockedError
			if !errors.As(err, &le) || le.Lock.Release != 1 {
				t.Errorf("error does not carry the holder: %v", err)
			}
			want := tt.wait
			if tt.timeout > 0 {
				want = tt.timeout
			}
			if d < want-50*time.Millisecond || d > want+3*time.Second {
				t.Errorf("gave up after %v, want about %v", d, want)
			}
		})
	}
}

// TestHelperProcess is not a test: TestLockAcrossProcesses runs the test
// binary as a second cutover process that tries to take the lock and exits.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("CUTOVER_STORE_HELPER_DIR")
	if dir == "" {
		return // only as a helper process
	}
	s, err := Open(dir, WithTimeout(5*time.Second))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	l, err := s.Acquire(context.Background(), Lock{Stack: "hello", Release: 9})
	switch {
	case errors.Is(err, ErrStackLocked):
		fmt.Println("locked:", err)
	case err != nil:
		fmt.Println("error:", err)
	default:
		fmt.Println("acquired:", l.PID)
	}
	os.Exit(0) // exits holding the lock, if it got it
}

func TestLockAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	other := func() string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), "CUTOVER_STORE_HELPER_DIR="+dir, "GORACE=atexit_sleep_ms=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}

	held, err := s.Acquire(ctx, Lock{Stack: "hello", Release: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`locked: stack "hello" is being deployed by release 1 (pid %d on host`, os.Getpid())
	if out := other(); !strings.HasPrefix(out, want) {
		t.Errorf("second process said %q, want %q…", out, want)
	}

	// Once released, the other process takes the lock, then dies holding it.
	if err := s.Release(ctx, held); err != nil {
		t.Fatal(err)
	}
	out := other()
	if !strings.HasPrefix(out, "acquired: ") {
		t.Fatalf("second process said %q, want acquired", out)
	}
	_, err = s.Acquire(ctx, Lock{Stack: "hello", Release: 10})
	var le *LockedError
	if !errors.As(err, &le) || !le.Stale || le.Lock.Release != 9 || out != fmt.Sprintf("acquired: %d", le.Lock.PID) {
		t.Errorf("after the holder died: err = %v (helper said %q), want a stale lock of release 9", err, out)
	}
}
