package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// requestKind is one way the load reaches the proxy.
type requestKind uint8

const (
	kindKeepAlive requestKind = iota // POST on a long-lived connection, paced
	kindFresh                        // POST on a new connection each time
	kindIdle                         // POST on a long-lived connection idle ~1 s between requests
	kindSlow                         // GET /slow?d=… on a long-lived connection, back to back
	numKinds
)

func (k requestKind) String() string {
	switch k {
	case kindKeepAlive:
		return "keep-alive POST"
	case kindFresh:
		return "fresh-conn POST"
	case kindIdle:
		return "idle keep-alive POST"
	case kindSlow:
		return "slow GET"
	}
	return fmt.Sprintf("kind %d", k)
}

// slowDelay is the response delay the i-th slow request asks for:
// 200, 300, 400, 500 ms in turn.
func slowDelay(i int) time.Duration { return time.Duration(200+100*(i%4)) * time.Millisecond }

// postBody is what POST requests send: a body makes Go's own client refuse
// to re-send them, and our client never re-sends anything anyway.
const postBody = "cutover-bench zero-downtime\n"

// zdSample is one request as the client saw it. Every request is one attempt:
// the client never retries, so a request a switch breaks shows here.
type zdSample struct {
	start   time.Time
	latency time.Duration
	delay   time.Duration // the response delay a slow request asked for
	// err is set on failure: a transport error, a non-2xx status or an
	// answer without a known version.
	err     string
	status  int
	version int8 // the app version that answered (1, 2); 0 unknown
	kind    requestKind
	stack   uint8 // the load target (stack) the request went to
}

func (s zdSample) failed() bool { return s.err != "" }

// end is when the request ended (answered or failed).
func (s zdSample) end() time.Time { return s.start.Add(s.latency) }

// loadTarget is where the load goes: a proxy listen address.
type loadTarget struct {
	addr  string
	stack uint8
}

// loadConfig is the load's shape.
type loadConfig struct {
	keepAlive, fresh, idle, slow int
	keepAliveRate, freshRate     float64 // requests per second per worker
	idleEvery                    time.Duration
	timeout                      time.Duration
	// versions maps the X-Version an app answers with to its version id.
	versions map[string]int8
}

// zdLoad sends steady traffic to the current target until stopped. Each
// worker owns one connection (or one at a time) and its own result slice.
type zdLoad struct {
	cfg     loadConfig
	target  atomic.Pointer[loadTarget]
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	results [][]zdSample // one per worker, read only after wg.Wait
	once    sync.Once
	merged  []zdSample
}

// startLoad starts the workers against t.
func startLoad(ctx context.Context, cfg loadConfig, t loadTarget) *zdLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &zdLoad{cfg: cfg, cancel: cancel}
	l.target.Store(&t)
	var workers []*zdWorker
	add := func(n int, kind requestKind, every time.Duration) {
		for range n {
			workers = append(workers, &zdWorker{l: l, kind: kind, every: every, index: len(workers)})
		}
	}
	add(cfg.keepAlive, kindKeepAlive, rateEvery(cfg.keepAliveRate))
	add(cfg.fresh, kindFresh, rateEvery(cfg.freshRate))
	add(cfg.idle, kindIdle, cfg.idleEvery)
	add(cfg.slow, kindSlow, 0)
	l.results = make([][]zdSample, len(workers))
	for i, w := range workers {
		// Stagger the paced workers over their interval.
		offset := time.Duration(0)
		if w.every > 0 {
			offset = w.every * time.Duration(i) / time.Duration(len(workers))
		}
		l.wg.Go(func() { l.results[i] = w.run(ctx, offset) })
	}
	return l
}

func rateEvery(perSecond float64) time.Duration {
	return time.Duration(float64(time.Second) / perSecond)
}

// retarget sends every request from now on to t; long-lived connections
// to the old target are closed between two requests, not during one.
func (l *zdLoad) retarget(t loadTarget) { l.target.Store(&t) }

// stop ends the load, letting requests in flight finish, and returns every
// sample sorted by start time. It may be called more than once.
func (l *zdLoad) stop() []zdSample {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
		l.merged = slices.Concat(l.results...)
		slices.SortFunc(l.merged, func(a, b zdSample) int { return a.start.Compare(b.start) })
	})
	return l.merged
}

// zdWorker sends requests of one kind, one at a time.
type zdWorker struct {
	l     *zdLoad
	kind  requestKind
	every time.Duration // pacing; 0 sends back to back
	index int
	conn  *zdConn
}

// zdConn is a raw HTTP/1.1 client connection.
type zdConn struct {
	net.Conn
	br     *bufio.Reader
	addr   string
	served int // requests answered on it so far
	opened time.Time
}

func (w *zdWorker) run(ctx context.Context, offset time.Duration) []zdSample {
	defer w.closeConn()
	var out []zdSample
	next := time.Now().Add(offset)
	for i := 0; ; i++ {
		if w.every > 0 {
			if !zdSleepUntil(ctx, next) {
				return out
			}
			next = next.Add(w.every)
			if now := time.Now(); next.Before(now) {
				next = now // fell behind: no burst to catch up
			}
		} else if ctx.Err() != nil {
			return out
		}
		out = append(out, w.one(i))
	}
}

func zdSleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// one sends one request and records it.
func (w *zdWorker) one(i int) zdSample {
	t := w.l.target.Load()
	if w.conn != nil && w.conn.addr != t.addr {
		w.closeConn()
	}
	s := zdSample{kind: w.kind, stack: t.stack}
	var req []byte
	switch w.kind {
	case kindSlow:
		s.delay = slowDelay(i + w.index)
		req = fmt.Appendf(nil, "GET /slow?d=%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: cutover-bench\r\n\r\n", s.delay, t.addr)
	default:
		closing := ""
		if w.kind == kindFresh {
			closing = "Connection: close\r\n"
		}
		req = fmt.Appendf(nil, "POST / HTTP/1.1\r\nHost: %s\r\nUser-Agent: cutover-bench\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
			t.addr, len(postBody), closing, postBody)
	}
	s.start = time.Now()
	a, err := w.roundTrip(t.addr, req, s.start)
	s.latency = time.Since(s.start)
	s.status = a.status
	switch id, known := w.l.cfg.versions[a.version]; {
	case err != nil:
		s.err = err.Error()
	case a.status < 200 || a.status > 299:
		s.err = fmt.Sprintf("status %d, X-Version %q, body %q", a.status, a.version, a.firstLine)
	case !known:
		s.err = fmt.Sprintf("status %d with unknown version %q", a.status, a.version)
	default:
		s.version = id
	}
	return s
}

// zdAnswer is what came back for one request.
type zdAnswer struct {
	status    int
	version   string // X-Version, else the body (the app answers its version)
	firstLine string // the body's first line
}

// roundTrip writes req on the worker's connection (dialing one when it
// has none) and reads the answer. Any error closes the connection; the
// request is not sent again.
func (w *zdWorker) roundTrip(addr string, req []byte, start time.Time) (zdAnswer, error) {
	timeout := w.l.cfg.timeout
	if w.conn == nil {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			return zdAnswer{}, fmt.Errorf("dial: %w", err)
		}
		w.conn = &zdConn{Conn: c, br: bufio.NewReader(c), addr: addr, opened: time.Now()}
	}
	c := w.conn
	keep := false
	defer func() {
		if !keep {
			w.closeConn()
		}
	}()
	// Say which connection failed: a fresh one, or one that served n
	// requests (the case a proxy breaks by closing connections under
	// clients).
	where := func() string {
		if c.served == 0 {
			return "new connection"
		}
		return fmt.Sprintf("connection open %.1fs, %d requests served", time.Since(c.opened).Seconds(), c.served)
	}
	if err := c.SetDeadline(start.Add(timeout)); err != nil {
		return zdAnswer{}, fmt.Errorf("set deadline: %w", err)
	}
	if _, err := c.Write(req); err != nil {
		return zdAnswer{}, fmt.Errorf("write (%s): %w", where(), err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return zdAnswer{}, fmt.Errorf("read response (%s): %w", where(), err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a := zdAnswer{status: resp.StatusCode, version: resp.Header.Get("X-Version")}
	if err != nil {
		return a, fmt.Errorf("read body (%s): %w", where(), err)
	}
	c.served++
	line, _, _ := bytes.Cut(bytes.TrimSpace(body), []byte("\n"))
	a.firstLine = string(line)
	if a.version == "" {
		a.version = a.firstLine
	}
	keep = w.kind != kindFresh && !resp.Close && len(body) < 64<<10
	return a, nil
}

func (w *zdWorker) closeConn() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}
