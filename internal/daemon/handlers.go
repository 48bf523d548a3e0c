package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/lb"
)

// maxRequestBody bounds a request body (a deploy carries the whole
// resolved compose model).
const maxRequestBody = 32 << 20

// defaultAbortWait is how long abort waits for the deploy to be undone.
const defaultAbortWait = 5 * time.Minute

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(api.PathHealth, s.health)
	mux.HandleFunc(api.PathStacks, s.stacks)
	mux.HandleFunc(api.PathStack, s.stack)
	mux.HandleFunc(api.PathReleases, s.releases)
	mux.HandleFunc(api.PathRoutes, s.routes)
	mux.HandleFunc(api.PathDeploy, s.deploy)
	mux.HandleFunc(api.PathConfirm, s.confirm)
	mux.HandleFunc(api.PathPromote, s.promote)
	mux.HandleFunc(api.PathRollback, s.rollback)
	mux.HandleFunc(api.PathAbort, s.abort)
	mux.HandleFunc(api.PathUnlock, s.unlock)
	mux.HandleFunc(api.PathDown, s.down)
	mux.HandleFunc(api.PathCheck, s.check)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, api.Error{Kind: api.KindBadInput, Message: fmt.Sprintf("no such endpoint: %s %s (see docs/daemon.md)", r.Method, r.URL.Path)})
	})
	return mux
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, api.Health{Version: s.cfg.Version, PID: os.Getpid(), StateDir: s.cfg.Store.Dir(),
		StartedAt: s.started.UTC(), Uptime: api.Duration(time.Since(s.started).Round(time.Second))})
}

func (s *Server) stacks(w http.ResponseWriter, r *http.Request) {
	out, err := s.ops.Stacks(r.Context())
	reply(w, out, err)
}

func (s *Server) stack(w http.ResponseWriter, r *http.Request) {
	out, err := s.ops.Status(r.Context(), r.PathValue("stack"))
	reply(w, out, err)
}

func (s *Server) releases(w http.ResponseWriter, r *http.Request) {
	out, err := s.ops.History(r.Context(), r.PathValue("stack"))
	for i := range out {
		out[i] = Shown(out[i])
	}
	reply(w, out, err)
}

func (s *Server) routes(w http.ResponseWriter, _ *http.Request) {
	routes := []lb.RouteStatus{}
	if s.ops.Routes != nil {
		routes = append(routes, s.ops.Routes()...)
	}
	writeJSON(w, http.StatusOK, routes)
}

func (s *Server) deploy(w http.ResponseWriter, r *http.Request) {
	var req api.DeployRequest
	if !decode(w, r, &req) {
		return
	}
	name := r.PathValue("stack")
	st, err := compose.LoadRemote(r.Context(), name, req.WorkingDir, req.ConfigFiles, req.Spec)
	if err != nil {
		writeError(w, api.ErrorOf(deploy.BadInput(err.Error())))
		return
	}
	trigger := req.Trigger
	if trigger == "" {
		trigger = "api"
	}
	dreq := deploy.Request{Stack: st, Strategy: req.Strategy, Images: req.Images, DryRun: req.DryRun, Trigger: trigger,
		LockWait: time.Duration(req.LockWait), Overrides: req.Overrides.Deploy()}
	s.run(w, r, name, func(ctx context.Context, obs deploy.Observer) api.Result {
		res, err := s.ops.Deploy(ctx, dreq, obs)
		return api.ResultOf(res).WithError(err)
	})
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	var req api.RollbackRequest
	if !decode(w, r, &req) {
		return
	}
	name := r.PathValue("stack")
	if req.To == 0 && req.Strategy != "" {
		writeError(w, api.ErrorOf(deploy.BadInput("strategy applies only with to (rollback --to N)")))
		return
	}
	s.run(w, r, name, func(ctx context.Context, obs deploy.Observer) api.Result {
		if req.To > 0 {
			res, err := s.ops.RollbackTo(ctx, name, req.To, deploy.Request{Strategy: req.Strategy, Trigger: req.Trigger,
				LockWait: time.Duration(req.LockWait), Overrides: req.Overrides.Deploy()}, obs)
			return api.ResultOf(res).WithError(err)
		}
		rel, err := s.ops.Rollback(ctx, name, req.Overrides.Deploy(), obs)
		return api.Result{Release: rel}.WithError(err)
	})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("stack")
	s.run(w, r, name, func(ctx context.Context, obs deploy.Observer) api.Result {
		rel, err := s.ops.Confirm(ctx, name, obs)
		return api.Result{Release: rel}.WithError(err)
	})
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("stack")
	s.run(w, r, name, func(ctx context.Context, obs deploy.Observer) api.Result {
		rel, err := s.ops.Promote(ctx, name, obs)
		return api.Result{Release: rel}.WithError(err)
	})
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	var req api.AbortRequest
	if !decode(w, r, &req) {
		return
	}
	wait := time.Duration(req.Wait)
	if wait <= 0 {
		wait = defaultAbortWait
	}
	name := r.PathValue("stack")
	// Abort is not itself an operation on the stack (it would cancel
	// itself): it follows the client's request.
	st := newStream(w)
	rel, err := s.ops.Abort(r.Context(), name, wait, st)
	st.finish(api.Result{Release: Shown(rel)}.WithError(err))
}

func (s *Server) unlock(w http.ResponseWriter, r *http.Request) {
	var req api.UnlockRequest
	if !decode(w, r, &req) {
		return
	}
	lock, err := s.ops.Unlock(r.Context(), r.PathValue("stack"), req.Force)
	if err != nil {
		writeError(w, api.ErrorOf(err))
		return
	}
	writeJSON(w, http.StatusOK, api.Result{Lock: &lock})
}

func (s *Server) down(w http.ResponseWriter, r *http.Request) {
	var req api.DownRequest
	if !decode(w, r, &req) {
		return
	}
	name := r.PathValue("stack")
	s.run(w, r, name, func(ctx context.Context, obs deploy.Observer) api.Result {
		res, err := s.ops.Down(ctx, name, req.Volumes, obs)
		out := api.Result{}
		if err == nil {
			out.Down = &res
		}
		return out.WithError(err)
	})
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var req api.CheckRequest
	if !decode(w, r, &req) {
		return
	}
	s.run(w, r, req.Stack, func(ctx context.Context, obs deploy.Observer) api.Result {
		rep, err := s.ops.Check(ctx, req.Stack, CheckOptions{Apply: req.Apply, LockWait: time.Duration(req.LockWait)}, obs)
		return api.Result{Check: &rep}.WithError(err)
	})
}

// run runs an operation that changes a stack and streams its events and
// result. The operation does not belong to the request: if the client
// goes away it runs to the end (a release is never left half-done because
// a terminal closed); only abort and the daemon's shutdown timeout cancel
// it.
func (s *Server) run(w http.ResponseWriter, r *http.Request, stack string, op func(context.Context, deploy.Observer) api.Result) {
	st := newStream(w)
	done := make(chan api.Result, 1)
	ctx := context.WithoutCancel(r.Context())
	path := r.URL.Path
	go func() {
		res := op(ctx, st)
		attrs := []any{"stack", stack, "path", path, "exit_code", res.ExitCode}
		if res.Release.Number > 0 {
			attrs = append(attrs, "release", res.Release.Number, "status", res.Release.Status)
		}
		if res.Error != nil {
			attrs = append(attrs, "error", res.Error.Message)
		}
		s.log.Info("operation ended", attrs...)
		done <- res
	}()
	select {
	case res := <-done:
		res.Release = Shown(res.Release)
		st.finish(res)
	case <-r.Context().Done():
		st.detach()
		s.log.Warn("client went away; the operation goes on", "stack", stack, "path", path)
	}
}

// decode reads a JSON request body into v; an empty body leaves v zero.
// On error it answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, maxRequestBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, api.Error{Kind: api.KindBadInput, Message: "reading request: " + err.Error()})
		return false
	}
	return true
}

// reply answers a non-streaming request: v, or the error.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, api.ErrorOf(err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeError(w http.ResponseWriter, e api.Error) {
	writeJSON(w, e.Kind.HTTPStatus(), api.ErrorResponse{Error: e, ExitCode: e.Kind.ExitCode()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", api.ContentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
