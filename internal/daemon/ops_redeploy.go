package daemon

import (
	"context"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/registry"
	"github.com/cutover/cutover/internal/store"
)

// DigestSource tells which digest a registry serves for an image
// reference's tag now, without pulling. *registry.Client is one.
type DigestSource interface {
	Digest(ctx context.Context, ref string) (string, error)
}

// registry returns Registry, making a registry.Client (credentials from
// this process's docker config) the first time it is needed.
func (o *Ops) registry() (DigestSource, error) {
	o.registryMu.Lock()
	defer o.registryMu.Unlock()
	if o.Registry == nil {
		c, err := registry.New(registry.Options{Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		o.Registry = c
	}
	return o.Registry, nil
}

// Redeploy runs a release of stack from its serving release base with the
// given services' images replaced (deploy.Deployer.RedeployFrom) and, when the
// release awaits confirmation with auto_confirm set, waits for it to
// confirm itself or roll back, as Deploy does.
func (o *Ops) Redeploy(ctx context.Context, base store.Release, st *compose.Stack, images map[string]string, req deploy.Request, obs deploy.Observer) (deploy.Result, error) {
	ctx, done, err := o.jobs.start(ctx, st.Name)
	if err != nil {
		return deploy.Result{}, err
	}
	defer done()
	d := o.deployer(obs)
	res, err := d.RedeployFrom(ctx, base, st, images, req)
	return waitAutoConfirm(ctx, d, res, err)
}

// redeployDetached is Redeploy for releases the daemon starts itself
// (pushes, the periodic check): the auto-confirm wait goes on in the
// background, as an operation of its own that abort and shutdown see, so
// the stack's next push need not wait for it (a new release confirms the
// one awaiting confirmation first anyway).
func (o *Ops) redeployDetached(ctx context.Context, base store.Release, st *compose.Stack, images map[string]string, req deploy.Request, obs deploy.Observer) (deploy.Result, error) {
	jctx, done, err := o.jobs.start(ctx, st.Name)
	if err != nil {
		return deploy.Result{}, err
	}
	d := o.deployer(obs)
	res, err := d.RedeployFrom(jctx, base, st, images, req)
	done()
	if !confirmsItself(res, err) {
		return res, err
	}
	wctx, wdone, werr := o.jobs.start(context.WithoutCancel(ctx), st.Name)
	if werr != nil {
		return res, nil // shutting down: the next daemon takes the wait over
	}
	go func() {
		defer wdone()
		o.awaitAutoConfirm(wctx, d, res.Release)
	}()
	return res, nil
}
