package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// autoConfirms are the waits for releases that confirm themselves
// (x-cutover.auto_confirm) which the daemon took over when it started:
// releases left awaiting confirmation by an earlier daemon or CLI that
// stopped before their time came. They end when the daemon stops; the
// next daemon takes them over again.
type autoConfirms struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// resume starts one wait per stack whose newest awaiting release has an
// auto-confirm time.
func (a *autoConfirms) resume(ctx context.Context, o *Ops) error {
	stacks, err := o.Store.ListStacks(ctx)
	if err != nil {
		return err
	}
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, st := range stacks {
		rel, err := o.Store.LatestRelease(ctx, st.Name, store.StatusAwaitingConfirm)
		if errors.Is(err, store.ErrReleaseNotFound) || errors.Is(err, store.ErrStackNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if rel.AutoConfirmAt.IsZero() {
			continue
		}
		o.Logger.Info("taking over auto-confirm", "stack", rel.Stack, "release", rel.Number, "at", rel.AutoConfirmAt)
		a.wg.Go(func() {
			d := o.deployer(deploy.ObserverFunc(func(ev deploy.Event) {
				if ev.Kind == deploy.KindMessage {
					o.Logger.Info(ev.Message, "stack", ev.Stack, "release", ev.Release)
				}
			}))
			o.awaitAutoConfirm(ctx, d, rel)
		})
	}
	return nil
}

// stop ends the waits and returns when they have.
func (a *autoConfirms) stop() {
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
}
