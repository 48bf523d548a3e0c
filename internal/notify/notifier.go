package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultQueueSize      = 64
	DefaultTimeout        = 30 * time.Second
	DefaultAttemptTimeout = 10 * time.Second
	DefaultRetryMax       = 3
	DefaultRetryWaitMin   = 500 * time.Millisecond
	DefaultRetryWaitMax   = 5 * time.Second
)

// Options tune delivery. The zero value gives the defaults.
type Options struct {
	// Logger receives a warning per failed delivery and a debug line per
	// delivery and retry; nil uses slog.Default().
	Logger *slog.Logger
	// QueueSize bounds the events waiting for delivery (default 64); when
	// it is full, Notify drops the event and logs a warning.
	QueueSize int
	// Timeout bounds one event's delivery to one sink, retries included
	// (default 30s).
	Timeout time.Duration
	// AttemptTimeout bounds one HTTP request or SMTP session (default 10s).
	AttemptTimeout time.Duration
	// RetryMax is how many times a delivery is retried after a connection
	// error, a 429 or 5xx answer, or a 4xx SMTP reply: 0 means
	// DefaultRetryMax, negative never retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential wait between
	// retries (defaults 500ms and 5s); Retry-After is honoured up to
	// RetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
	// TLSConfig is used for HTTPS webhooks and SMTP TLS (nil: the system's
	// roots). Tests set RootCAs here.
	TLSConfig *tls.Config
	// Now is the clock for event times and email Date headers.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	switch {
	case o.RetryMax == 0:
		o.RetryMax = DefaultRetryMax
	case o.RetryMax < 0:
		o.RetryMax = 0
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = DefaultRetryWaitMin
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = DefaultRetryWaitMax
	}
	if o.RetryWaitMax < o.RetryWaitMin {
		o.RetryWaitMax = o.RetryWaitMin
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Notifier delivers events to sinks in the background, in the order they
// were notified. A nil *Notifier, or one without sinks, drops everything,
// so callers need not check whether notifications are configured.
type Notifier struct {
	sinks   []Sink
	logger  *slog.Logger
	timeout time.Duration
	now     func() time.Time

	queue  chan Event
	done   chan struct{} // closed when the worker has stopped
	cancel context.CancelFunc
	ctx    context.Context

	mu     sync.Mutex
	closed bool
}

// New starts a Notifier for sinks. Close it to deliver what is queued and
// stop its goroutine.
func New(sinks []Sink, opts Options) *Notifier {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{
		sinks:   sinks,
		logger:  opts.Logger,
		timeout: opts.Timeout,
		now:     opts.Now,
		queue:   make(chan Event, opts.QueueSize),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
	}
	go n.run()
	return n
}

// Notify queues e for delivery and returns at once. It reports whether
// the event was queued: false when no sink wants it, its kind is unknown,
// the queue is full (the event is dropped and a warning logged) or the
// Notifier is closed.
func (n *Notifier) Notify(e Event) bool {
	if n == nil || !n.anyWants(e.Kind) {
		return false
	}
	if !slices.Contains(Kinds, e.Kind) {
		n.logger.Warn("notification dropped: unknown kind", "stack", e.Stack, "release", e.Release, "kind", e.Kind)
		return false
	}
	if e.Time.IsZero() {
		e.Time = n.now()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		n.logger.Warn("notification dropped: notifier closed", "stack", e.Stack, "release", e.Release, "kind", e.Kind)
		return false
	}
	select {
	case n.queue <- e:
		return true
	default:
		n.logger.Warn("notification dropped: queue full", "stack", e.Stack, "release", e.Release, "kind", e.Kind, "queued", cap(n.queue))
		return false
	}
}

// Send delivers e to every sink that wants it now, in parallel, and
// returns their errors joined. Notify is the non-blocking way; Send is for
// callers that must know (a CLI run about to exit, tests).
func (n *Notifier) Send(ctx context.Context, e Event) error {
	if n == nil {
		return nil
	}
	if !slices.Contains(Kinds, e.Kind) {
		return fmt.Errorf("notification of release %d of %s: unknown kind %q (known: %s)", e.Release, e.Stack, e.Kind, strings.Join(Kinds, ", "))
	}
	if e.Time.IsZero() {
		e.Time = n.now()
	}
	return n.deliver(ctx, e)
}

// Close stops accepting events and waits until the queued ones are
// delivered, or ctx ends: then deliveries in flight are cancelled and
// Close returns ctx's error.
func (n *Notifier) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	select {
	case <-n.done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-n.done
		return fmt.Errorf("closing notifier: undelivered notifications: %w", ctx.Err())
	}
}

func (n *Notifier) run() {
	defer close(n.done)
	for e := range n.queue {
		if n.ctx.Err() != nil {
			n.logger.Warn("notification dropped: notifier closed", "stack", e.Stack, "release", e.Release, "kind", e.Kind)
			continue
		}
		_ = n.deliver(n.ctx, e) // deliver logs
	}
}

func (n *Notifier) anyWants(kind string) bool {
	for _, s := range n.sinks {
		if wants(s, kind) {
			return true
		}
	}
	return false
}

// deliver sends e to each sink that wants it, each within the timeout, and
// logs the outcome.
func (n *Notifier) deliver(ctx context.Context, e Event) error {
	var wg sync.WaitGroup
	errs := make([]error, len(n.sinks))
	for i, s := range n.sinks {
		if !wants(s, e.Kind) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, n.timeout)
			defer cancel()
			start := time.Now()
			err := s.Send(sctx, e)
			log := n.logger.With("sink", s.Name(), "stack", e.Stack, "release", e.Release, "kind", e.Kind,
				"duration", time.Since(start).Round(time.Millisecond))
			if err != nil {
				log.Warn("notification failed", "error", err)
				errs[i] = fmt.Errorf("%s: %w", s.Name(), err)
				return
			}
			log.Debug("notification sent")
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
