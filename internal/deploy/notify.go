package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/notify"
	"github.com/cutover/cutover/internal/store"
)

// Notifications sends the release notifications of x-cutover.notify for the
// stacks one process deploys: one notify.Notifier per stack, built from the
// stack's block the first time a release of it has something to say, and
// built again when a later release changes the block. Delivery happens in
// the background: a deploy never waits on a sink. A nil *Notifications
// sends nothing.
type Notifications struct {
	getenv func(string) string
	opts   notify.Options
	log    *slog.Logger

	mu      sync.Mutex
	stacks  map[string]*stackNotifier
	closing sync.WaitGroup // notifiers replaced by a changed block, draining
	closed  bool
}

// stackNotifier is one stack's notifier and the block it was built from.
type stackNotifier struct {
	key string // the block, as JSON
	n   *notify.Notifier
	// skipped says why sinks of the block were left out (an unset *_env
	// variable …); the others are in n.
	skipped []error
}

// NotificationsConfig configures Notifications.
type NotificationsConfig struct {
	// Getenv reads the *_env variables of the blocks; nil uses os.Getenv.
	Getenv func(string) string
	// Options tune delivery (retries, timeouts, queue size).
	Options notify.Options
	Logger  *slog.Logger
}

// NewNotifications returns Notifications; Close it to deliver what is
// queued.
func NewNotifications(c NotificationsConfig) *Notifications {
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Options.Logger == nil {
		c.Options.Logger = c.Logger
	}
	return &Notifications{getenv: c.Getenv, opts: c.Options, log: c.Logger, stacks: map[string]*stackNotifier{}}
}

// notifier returns the stack's notifier (nil when it has no sink to send
// to) and why configured sinks were left out, one error each.
func (n *Notifications) notifier(st *compose.Stack) (*notify.Notifier, []error) {
	if n == nil || st == nil {
		return nil, nil
	}
	var key string
	if st.Ext.Notify != nil {
		data, err := json.Marshal(st.Ext.Notify)
		if err != nil {
			return nil, []error{fmt.Errorf("x-cutover.notify: %w", err)}
		}
		key = string(data)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, nil
	}
	cur := n.stacks[st.Name]
	if cur != nil && cur.key == key {
		return cur.n, cur.skipped
	}
	if cur != nil && cur.n != nil {
		n.retire(cur.n)
	}
	next := &stackNotifier{key: key}
	if st.Ext.Notify != nil {
		// Sink by sink: one that cannot be built (an unset variable) must
		// not silence the others.
		var sinks []notify.Sink
		sinks, next.skipped = st.Ext.Notify.Config().Sinks(compose.ExtensionKey+".notify", n.getenv, n.opts)
		if len(sinks) > 0 {
			next.n = notify.New(sinks, n.opts)
		}
	}
	n.stacks[st.Name] = next
	return next.n, next.skipped
}

// retire closes a notifier whose block changed, in the background, letting
// it deliver what it has queued.
func (n *Notifications) retire(old *notify.Notifier) {
	n.closing.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), n.drainTimeout())
		defer cancel()
		if err := old.Close(ctx); err != nil {
			n.log.Warn("notifications dropped", "error", err)
		}
	})
}

func (n *Notifications) drainTimeout() time.Duration {
	if n.opts.Timeout > 0 {
		return n.opts.Timeout
	}
	return notify.DefaultTimeout
}

// Close stops taking events and waits until every notifier has delivered
// what it queued, or ctx ends.
func (n *Notifications) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	n.closed = true
	stacks := n.stacks
	n.stacks = map[string]*stackNotifier{}
	n.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, len(stacks))
	for _, s := range stacks {
		if s.n == nil {
			continue
		}
		wg.Go(func() { errs <- s.n.Close(ctx) })
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	done := make(chan struct{})
	go func() { n.closing.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return errors.Join(all...)
}

// notifyRelease queues a notification of rel's outcome for the stack's
// sinks. It never blocks on delivery. Each sink that cannot be built (an
// unset *_env variable) is skipped, the others get the event; the skipped
// sink gets a warning on the progress of the operation, once: at a
// release's start, or at a rollback (which has no start).
func (d *Deployer) notifyRelease(st *compose.Stack, rel store.Release, kind, reason string, dur time.Duration) {
	n, skipped := d.Notify.notifier(st)
	for _, err := range skipped {
		what := "notifications are not sent"
		var se *notify.SinkError
		if errors.As(err, &se) {
			what = "notifications to " + se.Sink + " are not sent"
		}
		// The warning event is what the user sees (the CLI prints it, the
		// daemon streams it, a triggered release logs it at warn); this line
		// is the daemon's record of each event lost, at info so that an
		// in-process CLI, which logs at warn, does not say it twice.
		d.logger().Info(what, "stack", rel.Stack, "release", rel.Number, "kind", kind, "error", err)
		if kind == notify.KindStart || kind == notify.KindRollback {
			d.emit(Event{Stack: rel.Stack, Release: rel.Number, Kind: KindMessage, Status: "warning",
				Message: what + ": " + err.Error()})
		}
	}
	if n == nil {
		return
	}
	n.Notify(notify.Event{Kind: kind, Stack: rel.Stack, Release: rel.Number, Images: notifyImages(rel.Images),
		Strategy: rel.Strategy, Trigger: rel.Trigger, Duration: dur, Reason: reason, Time: d.now()})
}

// releaseDuration is how long a release took, from deploying to its end.
func releaseDuration(rel store.Release) time.Duration {
	if rel.StartedAt.IsZero() || rel.FinishedAt.IsZero() || rel.FinishedAt.Before(rel.StartedAt) {
		return 0
	}
	return rel.FinishedAt.Sub(rel.StartedAt)
}

// notifyImages shows each service's image as its reference, pinned to the
// digest when known: myorg/web:1.4.3@sha256:….
func notifyImages(images map[string]store.ImageRef) map[string]string {
	out := make(map[string]string, len(images))
	for svc, img := range images {
		ref := img.Ref
		if _, digest, ok := strings.Cut(img.Digest, "@"); ok && !strings.Contains(ref, "@") {
			ref += "@" + digest
		}
		out[svc] = ref
	}
	return out
}

// failureReason says why a release failed, and that it was aborted when it was.
func failureReason(status store.Status, reason string) string {
	if status == store.StatusAborted {
		return "aborted: " + reason
	}
	return reason
}

// notifyStack is the stack whose x-cutover.notify applies to rel: its own
// recorded spec, else fallback (the stack being acted on).
func (d *Deployer) notifyStack(ctx context.Context, rel store.Release, fallback *compose.Stack) *compose.Stack {
	if d.Notify == nil || len(rel.Spec) == 0 {
		return fallback
	}
	st, err := d.stackOf(ctx, rel)
	if err != nil {
		return fallback
	}
	return st
}
