package lb

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// target is one backend address of a route. Its state only moves forward:
// active (or candidate) → draining → drained. A target that leaves and later
// rejoins a route is a new target; one that moves between the stable and
// canary sets stays the same target.
type target struct {
	addr  string
	conns *connPool

	inFlight atomic.Int64
	healthy  atomic.Bool
	// retired is set, after the target left the active sets, before
	// waiting for inFlight to reach zero; acquire checks it after counting
	// itself in, so that a request either sees it and backs out or is
	// seen by the drain.
	retired atomic.Bool
	state   atomic.Pointer[TargetState]
	lastErr atomic.Pointer[string]

	stopProbe context.CancelFunc // nil when not probed
	drained   chan struct{}      // closed once retired with nothing in flight
	drainOnce sync.Once
	onDrained func(*target) // runs once, on the goroutine that drained it
}

// newTarget returns a target for addr in state, healthy.
func newTarget(addr string, state TargetState, onDrained func(*target)) *target {
	t := &target{
		addr:      addr,
		conns:     newConnPool(addr),
		drained:   make(chan struct{}),
		onDrained: onDrained,
	}
	t.healthy.Store(true)
	t.setState(state)
	return t
}

func (t *target) setState(s TargetState) { t.state.Store(&s) }

// acquire counts one request in. It fails when the target was retired
// meanwhile; the caller then picks from the new active sets.
func (t *target) acquire() bool {
	t.inFlight.Add(1)
	if t.retired.Load() {
		t.release()
		return false
	}
	return true
}

// release counts one request out.
func (t *target) release() {
	if t.inFlight.Add(-1) == 0 && t.retired.Load() {
		t.markDrained()
	}
}

// retire takes the target out of service: it stops being probed and, as
// soon as nothing is in flight, it is drained. Call it only after the
// target left the active sets, and not while holding a lock onDrained
// takes.
func (t *target) retire() {
	t.setState(TargetDraining)
	if t.stopProbe != nil {
		t.stopProbe()
	}
	t.retired.Store(true)
	if t.inFlight.Load() == 0 {
		t.markDrained()
	}
}

func (t *target) markDrained() {
	t.drainOnce.Do(func() {
		// Nothing is in flight and nothing new can start, so every
		// connection to the target is idle (or about to be): close them
		// all rather than let them linger until the idle timeout.
		t.conns.closeAll()
		// Forget the target before announcing it drained, so that a
		// switch that returns on the announcement no longer lists it.
		if t.onDrained != nil {
			t.onDrained(t)
		}
		close(t.drained)
	})
}

// fail records err as the target's last error.
func (t *target) fail(err error) {
	msg := err.Error()
	t.lastErr.Store(&msg)
}

func (t *target) clearError() {
	if t.lastErr.Load() != nil {
		t.lastErr.Store(nil)
	}
}

func (t *target) status() TargetStatus {
	s := TargetStatus{
		Addr:     t.addr,
		State:    *t.state.Load(),
		Healthy:  t.healthy.Load(),
		InFlight: t.inFlight.Load(),
	}
	if e := t.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// checkAddr reports whether addr is a usable "ip:port" (or "host:port").
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || port == "" {
		return &net.AddrError{Err: "missing host or port", Addr: addr}
	}
	return nil
}
