package lb

import (
	"sync"
	"sync/atomic"
	"time"
)

// watchDelay is how long a request waits for its answer before the proxy
// starts watching whether its client is still there. Quick answers cost
// no watching; a client that leaves a long poll or a quiet stream has its
// request to the target aborted.
const watchDelay = 100 * time.Millisecond

// aLongTimeAgo is a deadline in the past: it interrupts a pending read.
func aLongTimeAgo() time.Time { return time.Unix(1, 0) }

// clientWatch notices a client closing its connection while its request
// is being answered (nothing else reads the connection then), and closes
// the target connection carrying the request, which ends it.
type clientWatch struct {
	c     *serverConn
	timer *time.Timer
	gone  atomic.Bool // the client left during the current request

	mu      sync.Mutex
	armed   bool
	running bool
	bc      *backendConn
	done    chan struct{}
}

func (w *clientWatch) init(c *serverConn) { w.c = c }

// arm watches the client from watchDelay on, closing bc if it leaves.
// Only the connection's goroutine arms and disarms.
func (w *clientWatch) arm(bc *backendConn) {
	// gone was cleared when the request was read (serverConn.next).
	if !canWatch || w.c.raw == nil {
		return
	}
	w.mu.Lock()
	w.armed, w.bc = true, bc
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, w.fire)
	} else {
		w.timer.Reset(watchDelay)
	}
}

// fire starts watching, unless disarmed meanwhile.
func (w *clientWatch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed || w.running {
		return
	}
	w.running = true
	w.done = make(chan struct{})
	// Under mu, so that a disarm's deadline comes after this one.
	w.c.nc.SetReadDeadline(time.Time{})
	go w.run(w.bc, w.done)
}

func (w *clientWatch) run(bc *backendConn, done chan struct{}) {
	defer close(done)
	gone, err := awaitReadable(w.c.raw)
	if err != nil || !gone {
		return // disarmed, or the client sent more (a pipelined request)
	}
	w.gone.Store(true)
	bc.Close()
}

// disarm stops watching and returns once the watch has stopped.
func (w *clientWatch) disarm() {
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	running, done := w.running, w.done
	w.armed, w.running, w.bc, w.done = false, false, nil, nil
	w.mu.Unlock()
	w.timer.Stop()
	if running {
		w.c.nc.SetReadDeadline(aLongTimeAgo())
		<-done
		w.c.nc.SetReadDeadline(time.Time{})
	}
}
