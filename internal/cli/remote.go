package cli

import (
	"context"
	"net/url"
	"time"

	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

var _ backend = (*remote)(nil)

// stackPath is /v1/stacks/<stack><suffix>.
func stackPath(stack, suffix string) string {
	return "/" + api.Version + "/stacks/" + url.PathEscape(stack) + suffix
}

// Deploy sends the stack as loaded here: its resolved model, so the
// daemon deploys exactly what this CLI read, with its paths.
func (r *remote) Deploy(ctx context.Context, req deploy.Request) (api.Result, error) {
	st := req.Stack
	spec, err := st.Spec(nil)
	if err != nil {
		return api.Result{}, err
	}
	trigger := req.Trigger
	if trigger == "" {
		trigger = "cli"
	}
	body := api.DeployRequest{WorkingDir: st.WorkingDir(), ConfigFiles: st.ConfigFiles(), Spec: spec, Strategy: req.Strategy,
		Images: req.Images, Overrides: api.OverridesOf(req.Overrides), DryRun: req.DryRun, LockWait: api.Duration(req.LockWait), Trigger: trigger}
	return r.stream(ctx, st.Name, stackPath(st.Name, "/deploy"), body)
}

func (r *remote) RollbackTo(ctx context.Context, stack string, n int, req deploy.Request) (api.Result, error) {
	body := api.RollbackRequest{To: n, Strategy: req.Strategy, LockWait: api.Duration(req.LockWait),
		Overrides: api.OverridesOf(req.Overrides), Trigger: req.Trigger}
	return r.stream(ctx, stack, stackPath(stack, "/rollback"), body)
}

func (r *remote) Rollback(ctx context.Context, stack string, o deploy.Overrides) (store.Release, error) {
	res, err := r.stream(ctx, stack, stackPath(stack, "/rollback"), api.RollbackRequest{Overrides: api.OverridesOf(o)})
	return res.Release, err
}

func (r *remote) Confirm(ctx context.Context, stack string) (store.Release, error) {
	res, err := r.stream(ctx, stack, stackPath(stack, "/confirm"), struct{}{})
	return res.Release, err
}

func (r *remote) Promote(ctx context.Context, stack string) (store.Release, error) {
	res, err := r.stream(ctx, stack, stackPath(stack, "/promote"), struct{}{})
	return res.Release, err
}

func (r *remote) Abort(ctx context.Context, stack string, wait time.Duration) (store.Release, error) {
	res, err := r.stream(ctx, stack, stackPath(stack, "/abort"), api.AbortRequest{Wait: api.Duration(wait)})
	return res.Release, err
}

func (r *remote) Unlock(ctx context.Context, stack string, force bool) (store.Lock, error) {
	res, err := r.call(ctx, stackPath(stack, "/unlock"), api.UnlockRequest{Force: force})
	if err != nil || res.Lock == nil {
		return store.Lock{}, err
	}
	return *res.Lock, nil
}

func (r *remote) Down(ctx context.Context, stack string, volumes bool) (deploy.DownResult, error) {
	res, err := r.stream(ctx, stack, stackPath(stack, "/down"), api.DownRequest{Volumes: volumes})
	if err != nil || res.Down == nil {
		return deploy.DownResult{}, err
	}
	return *res.Down, nil
}

func (r *remote) Status(ctx context.Context, stack string) (api.StackStatus, error) {
	var out api.StackStatus
	err := r.get(ctx, stackPath(stack, ""), &out)
	return out, err
}

func (r *remote) Stacks(ctx context.Context) ([]api.StackStatus, error) {
	var out []api.StackStatus
	err := r.get(ctx, "/"+api.Version+"/stacks", &out)
	return out, err
}

func (r *remote) History(ctx context.Context, stack string) ([]store.Release, error) {
	var out []store.Release
	err := r.get(ctx, stackPath(stack, "/releases"), &out)
	return out, err
}

func (r *remote) Check(ctx context.Context, stack string, opts daemon.CheckOptions) (api.CheckReport, error) {
	res, err := r.stream(ctx, stack, "/"+api.Version+"/check", api.CheckRequest{Stack: stack, Apply: opts.Apply, LockWait: api.Duration(opts.LockWait)})
	if res.Check == nil {
		return api.CheckReport{}, err
	}
	return *res.Check, err
}
