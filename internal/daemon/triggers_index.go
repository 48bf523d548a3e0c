package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/watch"
)

// errSpec marks a serving release whose recorded spec does not load.
var errSpec = errors.New("recorded spec unreadable")

// watchedStack is a stack as pushes see it: the release it serves and that
// release's recorded stack (x-cutover.watch, x-cutover.hooks).
type watchedStack struct {
	name    string
	release store.Release
	stack   *compose.Stack
}

// service is one of the stack's services as a push matches it: the
// repository and tag it runs now (its serving release's), its watch policy,
// and the digest it runs when known.
type service struct {
	name   string
	ref    string // the reference the release ran
	repo   string // named as webhook.Push.Repo names it
	tag    string // "" when pinned by digest only: no push moves it
	digest string
	policy watch.Policy
}

// services lists the stack's services that run a tagged image.
func (w watchedStack) services() []service {
	var out []service
	for _, name := range w.stack.ServiceNames() {
		img, ok := w.release.Images[name]
		if !ok || img.Ref == "" {
			continue
		}
		repo, tag, err := watch.SplitImage(img.Ref)
		if err != nil {
			continue
		}
		out = append(out, service{name: name, ref: img.Ref, repo: repo, tag: tag, digest: deploy.DigestOf(img.Digest),
			policy: w.stack.Services[name].WatchPolicy()})
	}
	return out
}

// stackIndex reads the stacks pushes can deploy from the store: every
// stack that is not down and has a serving release. The stack each
// release recorded is parsed once and kept while that release serves.
type stackIndex struct {
	store *store.Store
	log   *slog.Logger

	mu     sync.Mutex
	parsed map[string]watchedStack // by stack name
}

func newStackIndex(s *store.Store, log *slog.Logger) *stackIndex {
	return &stackIndex{store: s, log: log, parsed: map[string]watchedStack{}}
}

// load returns the stacks as they are now. A stack whose recorded spec
// cannot be read is left out, with a warning.
func (x *stackIndex) load(ctx context.Context) ([]watchedStack, error) {
	stacks, err := x.store.ListStacks(ctx)
	if err != nil {
		return nil, err
	}
	var out []watchedStack
	for _, rec := range stacks {
		if rec.Down {
			continue
		}
		w, err := x.get(ctx, rec)
		switch {
		case errors.Is(err, store.ErrReleaseNotFound):
			continue
		case errors.Is(err, errSpec):
			x.log.Warn("stack left out of push matching", "stack", rec.Name, "error", err)
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// get returns one stack's serving release and its parsed stack.
func (x *stackIndex) get(ctx context.Context, rec store.Stack) (watchedStack, error) {
	rel, err := x.store.LatestRelease(ctx, rec.Name, store.StatusActive, store.StatusAwaitingConfirm)
	if err != nil {
		return watchedStack{}, err
	}
	x.mu.Lock()
	cached, ok := x.parsed[rec.Name]
	x.mu.Unlock()
	if ok && cached.release.Number == rel.Number { // the spec is the release's: its status does not change it
		cached.release = rel
		return cached, nil
	}
	st, err := compose.LoadRemote(ctx, rec.Name, rec.WorkingDir, rec.ConfigFiles, rel.Spec)
	if err != nil {
		return watchedStack{}, fmt.Errorf("%w: release %d: %w", errSpec, rel.Number, err)
	}
	w := watchedStack{name: rec.Name, release: rel, stack: st}
	x.mu.Lock()
	x.parsed[rec.Name] = w
	x.mu.Unlock()
	return w, nil
}
