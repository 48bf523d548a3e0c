package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/registry"
	"github.com/cutover/cutover/internal/watch"
	"github.com/cutover/cutover/internal/webhook"
)

// Defaults of the release queue pushes feed.
const (
	// DefaultDebounce is how long the queue waits after a stack's latest
	// push before it starts the release, so a burst (a multi-arch push,
	// CI pushing v1, v1.2 and v1.2.3) becomes one release. A burst that
	// goes on waits at most maxDebounceFactor windows from its first push.
	DefaultDebounce = 200 * time.Millisecond
	// maxDebounceFactor bounds a burst's wait: a stream of pushes still
	// releases after this many debounce windows.
	maxDebounceFactor = 10
	// DefaultTriggerLockWait is how long a release a push started waits
	// for a deploy of the stack already in progress (a CLI deploy, say).
	DefaultTriggerLockWait = 10 * time.Minute
	// inboxSize bounds the pushes accepted and not yet matched; past it,
	// hooks are answered 503 and the sender retries.
	inboxSize = 1024
	// redeployAttempts bounds how often a release is rebuilt because
	// another release started to serve while it waited for the lock.
	redeployAttempts = 3
)

// want is one request for a service's image: a push the service's watch
// policy accepted, or a drift the periodic check found.
type want struct {
	service string
	// repo is the pushed repository, for the log; "" for the check's.
	repo string
	// tag is the pushed tag; for the check, the tag the service runs.
	tag string
	// digest is the pushed manifest's digest when the sender gave it; for
	// the check, the registry's digest of the tag.
	digest string
	// source is a webhook source (dockerhub, registry, github, generic)
	// or "check".
	source string
	at     time.Time
}

// image names the wanted image for the log: repo:tag[@digest], or the tag
// alone when the repository is not known.
func (w want) image() string {
	ref := w.tag
	if w.repo != "" {
		ref = w.repo + ":" + w.tag
	}
	if w.digest != "" {
		ref += "@" + w.digest
	}
	return ref
}

// stackQueue holds what is waiting for a stack's next release.
type stackQueue struct {
	pending map[string]want // service → the newest want
	since   time.Time       // arrival of the oldest pending want
	last    time.Time       // arrival of the newest want
	working bool            // a worker goroutine serves the stack
}

// incoming is an authenticated push waiting to be matched.
type incoming struct {
	push  webhook.Push
	scope hookScope
}

// triggers turns pushes (and the periodic check's drifts) into releases:
// it matches each push against the stacks' services, queues per stack, and
// runs one release per stack at a time. Wants that arrive while a stack's
// release is pending or running coalesce into one follow-up release with
// the newest image per service (watch.Newer, else the last to arrive).
type triggers struct {
	ops      *Ops
	index    *stackIndex
	log      *slog.Logger
	obs      deploy.Observer
	debounce time.Duration
	lockWait time.Duration
	callback *hubCallback

	ctx    context.Context // ends when the daemon stops taking pushes
	cancel context.CancelFunc
	inbox  chan incoming
	wg     sync.WaitGroup

	mu     sync.Mutex
	stacks map[string]*stackQueue
	closed bool
}

// triggersConfig configures triggers.
type triggersConfig struct {
	ops      *Ops
	index    *stackIndex
	log      *slog.Logger
	obs      deploy.Observer
	debounce time.Duration
	lockWait time.Duration
	callback *hubCallback
}

func newTriggers(c triggersConfig) *triggers {
	if c.debounce < 0 {
		c.debounce = 0
	}
	if c.lockWait <= 0 {
		c.lockWait = DefaultTriggerLockWait
	}
	if c.obs == nil {
		c.obs = deploy.Discard{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &triggers{ops: c.ops, index: c.index, log: c.log, obs: c.obs, debounce: c.debounce, lockWait: c.lockWait,
		callback: c.callback, ctx: ctx, cancel: cancel, inbox: make(chan incoming, inboxSize), stacks: map[string]*stackQueue{}}
	t.wg.Go(t.dispatch)
	return t
}

// submit hands an authenticated push to the matcher without waiting; false
// when the daemon is stopping or too many pushes wait.
func (t *triggers) submit(p webhook.Push, scope hookScope) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	select {
	case t.inbox <- incoming{push: p, scope: scope}:
		return true
	default:
		return false
	}
}

// Log messages of the pushes a stopping daemon drops. The senders got
// their 2xx and will not send them again, so the operator must: each is
// logged with what it would have deployed.
const (
	msgDroppedQueued    = "daemon stopping: queued push dropped, not deployed; re-push the image or run cutover check --apply"
	msgDroppedUnmatched = "daemon stopping: push dropped before it was matched, not deployed; re-push the image or run cutover check --apply"
)

// close stops taking pushes: what is matched but not started is dropped,
// and logged one push at a time; a release in progress goes on (shutdown
// ends it like any operation).
func (t *triggers) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	type drop struct {
		stack string
		want  want
	}
	var drops []drop
	for name, q := range t.stacks {
		for _, w := range q.pending {
			drops = append(drops, drop{name, w})
		}
	}
	t.mu.Unlock()
	t.cancel()
	sort.Slice(drops, func(i, j int) bool {
		if drops[i].stack != drops[j].stack {
			return drops[i].stack < drops[j].stack
		}
		return drops[i].want.service < drops[j].want.service
	})
	for _, d := range drops {
		t.logDropped(d.stack, d.want)
	}
	// Nothing enters the inbox once closed; dispatch may still take one of
	// what is left, and logs it the same way.
	for {
		select {
		case in := <-t.inbox:
			t.log.Warn(msgDroppedUnmatched, "push", in.push)
		default:
			return
		}
	}
}

// logDropped logs a want the stopping daemon will not deploy.
func (t *triggers) logDropped(stack string, w want) {
	t.log.Warn(msgDroppedQueued, "stack", stack, "service", w.service, "image", w.image(), "source", w.source)
}

// wait returns when the matcher and every worker have ended.
func (t *triggers) wait() { t.wg.Wait() }

// dispatch matches pushes in arrival order.
func (t *triggers) dispatch() {
	for {
		select {
		case <-t.ctx.Done():
			return
		case in := <-t.inbox:
			if t.ctx.Err() != nil {
				t.log.Warn(msgDroppedUnmatched, "push", in.push)
				continue
			}
			t.match(in)
		}
	}
}

// match queues a want for every service the push concerns: same
// repository, a hook scope that reaches the stack, and a watch policy that
// accepts the tag over the one the service runs. Each service of the
// repository that does not take the push is logged with the reason.
func (t *triggers) match(in incoming) {
	p := in.push
	stacks, err := t.index.load(t.ctx)
	if err != nil {
		if t.ctx.Err() != nil {
			t.log.Warn(msgDroppedUnmatched, "push", p)
		} else {
			t.log.Error("push not matched: reading the stacks", "push", p, "error", err)
		}
		return
	}
	var matched []string
	declined := 0
	for _, w := range stacks {
		hit := false
		for _, svc := range w.services() {
			if svc.repo != p.Repo {
				continue
			}
			if reason := declines(in.scope, w, svc, p); reason != "" {
				t.log.Info("push not deployed", "stack", w.name, "service", svc.name, "push", p, "policy", svc.policy.String(), "reason", reason)
				declined++
				continue
			}
			t.enqueue(w.name, want{service: svc.name, repo: p.Repo, tag: p.Tag, digest: p.Digest, source: p.Source, at: time.Now()})
			hit = true
		}
		if hit {
			matched = append(matched, w.name)
		}
	}
	switch {
	case len(matched) > 0:
		t.log.Info("push queued", "push", p, "stacks", strings.Join(matched, ","))
	case declined > 0:
		t.log.Info("push queued for no stack: no service of its repository takes it (see push not deployed)", "push", p, "services", declined)
	default:
		t.log.Info("push matches no stack", "push", p)
	}
	t.callback.report(p, matched)
}

// declines says why a service that runs the push's repository does not
// take the push: the hook's secret does not reach its stack, it runs an
// image pinned by digest, or its watch policy refuses the tag. "" when it
// takes it.
func declines(scope hookScope, w watchedStack, svc service, p webhook.Push) string {
	switch {
	case !scope.allows(w, p.Source):
		return scope.denial(w, p.Source)
	case svc.tag == "":
		return "the service runs an image pinned by digest: no push moves it"
	case !svc.policy.Accepts(svc.tag, p.Tag):
		return fmt.Sprintf("the service runs %s, and its watch policy (%s) does not take %s over it", svc.tag, svc.policy, p.Tag)
	}
	return ""
}

// enqueue adds a want to the stack's queue, keeping the newest per service,
// and makes sure a worker serves the stack.
func (t *triggers) enqueue(stack string, w want) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		// A push matched while the daemon began to stop.
		t.logDropped(stack, w)
		return
	}
	q := t.stacks[stack]
	if q == nil {
		q = &stackQueue{pending: map[string]want{}}
		t.stacks[stack] = q
	}
	if len(q.pending) == 0 {
		q.since = w.at
	}
	q.last = w.at
	if held, ok := q.pending[w.service]; !ok || !watch.Newer(held.tag, w.tag) {
		q.pending[w.service] = w
	}
	if !q.working {
		q.working = true
		t.wg.Go(func() { t.work(stack) })
	}
}

// work runs the stack's releases until nothing is pending: the first after
// the debounce window, each next one as soon as the previous has ended.
func (t *triggers) work(stack string) {
	for {
		t.mu.Lock()
		q := t.stacks[stack]
		if len(q.pending) == 0 || t.closed {
			q.working = false
			q.pending = map[string]want{}
			t.mu.Unlock()
			return
		}
		// Quiet for a window since the latest push, or the burst's cap.
		wait := min(time.Until(q.last.Add(t.debounce)), time.Until(q.since.Add(maxDebounceFactor*t.debounce)))
		t.mu.Unlock()
		if wait > 0 {
			select {
			case <-t.ctx.Done():
				t.mu.Lock()
				q.working = false
				q.pending = map[string]want{} // the daemon stops: what is pending is dropped (and logged by close)
				t.mu.Unlock()
				return
			case <-time.After(wait):
			}
			continue // look again: a later push may have extended the window
		}
		t.mu.Lock()
		pending := q.pending
		q.pending = map[string]want{}
		t.mu.Unlock()
		t.release(stack, pending)
	}
}

// release deploys what is pending for a stack: one release, from the
// release that serves when it starts, with each wanted service's image.
func (t *triggers) release(stack string, pending map[string]want) {
	// The release belongs to the daemon, not to the queue: shutdown lets it
	// finish (or cancels it) like any other operation.
	ctx := context.WithoutCancel(t.ctx)
	for attempt := 1; ; attempt++ {
		base, st, err := t.ops.deployer(nil).Serving(ctx, stack)
		if err != nil {
			t.log.Warn("pushes not deployed", "stack", stack, "reason", err)
			return
		}
		images, trigger, skipped := t.images(ctx, watchedStack{name: stack, release: base, stack: st}, pending)
		for _, s := range skipped {
			t.log.Info("push not deployed", "stack", stack, "service", s.service, "tag", s.tag, "reason", s.reason)
		}
		if len(images) == 0 {
			return
		}
		t.log.Info("release triggered", "stack", stack, "trigger", trigger, "images", images, "from_release", base.Number)
		res, err := t.ops.redeployDetached(ctx, base, st, images, deploy.Request{Trigger: trigger, LockWait: t.lockWait}, t.observer(stack))
		if errors.Is(err, deploy.ErrBaseMoved) && attempt < redeployAttempts {
			t.log.Info("another release serves now: building the triggered release again", "stack", stack, "error", err)
			continue
		}
		attrs := []any{"stack", stack, "trigger", trigger}
		if r := res.Release; r.Number > 0 {
			attrs = append(attrs, "release", r.Number, "status", r.Status)
		}
		if err != nil {
			t.log.Warn("triggered release failed", append(attrs, "error", err)...)
			return
		}
		t.log.Info("triggered release done", attrs...)
		return
	}
}

// skip is a want the release left out, and why.
type skip struct {
	service, tag, reason string
}

// images decides each pending want against what the stack serves now: the
// watch policy must still accept the tag (another release may have moved
// the service on meanwhile), and a service asked to run its own tag again
// is redeployed only if the tag now names another digest than it runs.
func (t *triggers) images(ctx context.Context, w watchedStack, pending map[string]want) (map[string]string, string, []skip) {
	byName := map[string]service{}
	for _, s := range w.services() {
		byName[s.name] = s
	}
	images := map[string]string{}
	var sources []string
	var skipped []skip
	names := make([]string, 0, len(pending))
	for name := range pending {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		wt := pending[name]
		ref, reason := t.imageFor(ctx, byName[name], wt)
		if reason != "" {
			skipped = append(skipped, skip{name, wt.tag, reason})
			continue
		}
		images[name] = ref
		if !slices.Contains(sources, wt.source) {
			sources = append(sources, wt.source)
		}
	}
	return images, triggerName(sources), skipped
}

// imageFor is the reference a service gets for a want, or why it gets none.
func (t *triggers) imageFor(ctx context.Context, svc service, w want) (string, string) {
	switch {
	case svc.name == "":
		return "", "the serving release has no such service (or it runs an image pinned by digest)"
	case svc.tag == "":
		return "", "the service runs an image pinned by digest: no push moves it"
	case w.source != TriggerCheck && !svc.policy.Accepts(svc.tag, w.tag):
		return "", fmt.Sprintf("the service runs %s now, and its watch policy (%s) does not take %s over it", svc.tag, svc.policy, w.tag)
	}
	tag := w.tag
	if w.source != TriggerCheck {
		tag = svc.policy.DeployTag(svc.tag, w.tag)
	}
	digest := ""
	if tag == w.tag {
		digest = w.digest
	}
	if digest == "" && tag == svc.tag {
		// Its own tag again (exact, moving, or a push without a digest):
		// only the registry says whether the tag moved.
		ref, err := deploy.PinRef(svc.ref, tag, "")
		if err != nil {
			return "", err.Error()
		}
		src, err := t.ops.registry()
		if err == nil {
			digest, err = src.Digest(ctx, ref)
		}
		if err != nil {
			return "", fmt.Sprintf("cannot tell whether %s moved: %v", ref, err)
		}
	}
	if tag == svc.tag && digest != "" && digest == svc.digest {
		return "", fmt.Sprintf("it runs %s already", registry.ShortDigest(digest))
	}
	ref, err := deploy.PinRef(svc.ref, tag, digest)
	if err != nil {
		return "", err.Error()
	}
	return ref, ""
}

// triggerName is the release's trigger: "webhook:<source>" for pushes
// ("webhook:registry"; several sources joined with +), "check" for the
// periodic check.
func triggerName(sources []string) string {
	sort.Strings(sources)
	var hooks []string
	for _, s := range sources {
		if s != TriggerCheck {
			hooks = append(hooks, s)
		}
	}
	if len(hooks) == 0 {
		return TriggerCheck
	}
	return "webhook:" + strings.Join(hooks, "+")
}

// observer is what a triggered release reports to: the daemon's Observer
// (a benchmark's clock, say), and the log for warnings.
func (t *triggers) observer(stack string) deploy.Observer {
	return deploy.ObserverFunc(func(e deploy.Event) {
		t.obs.Event(e)
		if e.Kind == deploy.KindMessage && e.Status == "warning" {
			t.log.Warn(e.Message, "stack", stack, "release", e.Release)
		}
	})
}
