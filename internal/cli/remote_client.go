package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// remote runs commands in a cutover daemon over its HTTP API.
type remote struct {
	where  string // the daemon as the user named it, for messages
	base   string // URL that API paths are appended to
	client *http.Client
	token  string
	obs    deploy.Observer
}

// newRemote returns a client of the daemon at server: unix:///path,
// http://host:port or https://host:port. The token goes with every
// request over TCP.
func newRemote(server, token string, obs deploy.Observer) (*remote, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, usageError{fmt.Errorf("--server %q: %w", server, err)}
	}
	switch u.Scheme {
	case "unix":
		// unix:///abs/path, or unix://rel/path for a relative one.
		path := u.Host + u.Path
		if path == "" {
			return nil, usageError{fmt.Errorf("--server %q: want unix:///path/to/cutover.sock", server)}
		}
		return newUnixRemote(path, obs), nil
	case "http", "https":
		if u.Host == "" {
			return nil, usageError{fmt.Errorf("--server %q: no host", server)}
		}
		transport := newTransport()
		transport.Proxy = http.ProxyFromEnvironment
		return &remote{where: server, base: strings.TrimSuffix(u.String(), "/"), client: &http.Client{Transport: transport},
			token: token, obs: observerOrDiscard(obs)}, nil
	}
	return nil, usageError{fmt.Errorf("--server %q: want http://host:port, https://host:port or unix:///path", server)}
}

// newUnixRemote returns a client of the daemon on the unix socket at path.
func newUnixRemote(path string, obs deploy.Observer) *remote {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	transport := newTransport()
	dial := transport.DialContext
	transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx, "unix", path)
	}
	return &remote{where: "unix://" + path, base: "http://cutover", client: &http.Client{Transport: transport}, obs: observerOrDiscard(obs)}
}

// newTransport is an HTTP transport without an overall timeout: a
// deploy's stream lasts as long as the deploy.
func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{DialContext: dialer.DialContext, IdleConnTimeout: 30 * time.Second}
}

func observerOrDiscard(obs deploy.Observer) deploy.Observer {
	if obs == nil {
		return deploy.Discard{}
	}
	return obs
}

func (r *remote) Close() error {
	r.client.CloseIdleConnections()
	return nil
}

// do sends a request; body, when not nil, goes as JSON.
func (r *remote) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return nil, usageError{fmt.Errorf("--server %q: %w", r.where, err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", api.ContentJSON)
	}
	req.Header.Set("Accept", api.ContentNDJSON+", "+api.ContentJSON)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, api.EnvError(fmt.Errorf("cannot reach the cutover daemon at %s: %w", r.where, err))
	}
	return resp, nil
}

// get fetches path into out.
func (r *remote) get(ctx context.Context, path string, out any) error {
	resp, err := r.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r.failure(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return api.EnvError(fmt.Errorf("reading the answer of the daemon at %s: %w", r.where, err))
	}
	return nil
}

// call posts body to a non-streaming endpoint and reads its result.
func (r *remote) call(ctx context.Context, path string, body any) (api.Result, error) {
	var res api.Result
	resp, err := r.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return res, r.failure(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return res, api.EnvError(fmt.Errorf("reading the answer of the daemon at %s: %w", r.where, err))
	}
	return res, nil
}

// stream posts body to an operation's endpoint, hands each progress event
// to the observer, and returns the final result with its error. If ctx
// ends first (Ctrl-C), the operation goes on in the daemon.
func (r *remote) stream(ctx context.Context, stack, path string, body any) (api.Result, error) {
	resp, err := r.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return api.Result{}, r.interrupted(ctx, stack, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.Result{}, r.failure(resp)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var line api.Line
		if err := dec.Decode(&line); err != nil {
			if ctx.Err() != nil {
				return api.Result{}, r.interrupted(ctx, stack, ctx.Err())
			}
			return api.Result{}, api.EnvError(fmt.Errorf("lost the connection to the daemon at %s before the operation ended (it goes on there; see cutover status %s): %w", r.where, stack, err))
		}
		switch {
		case line.Event != nil:
			r.obs.Event(*line.Event)
		case line.Result != nil:
			res := *line.Result
			if res.Error != nil {
				return res, fromAPI(*res.Error)
			}
			return res, nil
		}
	}
}

// interrupted explains that leaving does not stop the daemon's operation.
func (r *remote) interrupted(ctx context.Context, stack string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("interrupted: the operation goes on in the daemon at %s; follow it with `cutover status %s`, stop it with `cutover abort %s`: %w",
		r.where, stack, stack, errDetached)
}

// failure turns an error response into the error it describes.
func (r *remote) failure(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body api.ErrorResponse
	if err := json.Unmarshal(data, &body); err == nil && body.Error.Kind != "" {
		return fromAPI(body.Error)
	}
	return api.EnvError(fmt.Errorf("the daemon at %s answered %s: %s", r.where, resp.Status, strings.TrimSpace(string(data))))
}

// remoteError is an error the daemon reported. Its message is the
// daemon's, word for word; it unwraps to the sentinel of its kind, so
// ExitCode and errors.Is/As treat it as the same error in-process.
type remoteError struct {
	msg   string
	cause error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.cause }

// fromAPI rebuilds an error from its wire form.
func fromAPI(e api.Error) error {
	var cause error
	switch e.Kind {
	case api.KindBadInput:
		cause = deploy.ErrBadInput
	case api.KindConflict:
		cause = store.ErrStackLocked
		if e.Lock != nil {
			cause = &store.LockedError{Lock: *e.Lock, Stale: e.Stale}
		}
	case api.KindFailed:
		cause = deploy.ErrDeployFailed
	case api.KindEnv, api.KindUnauthorized:
		cause = api.ErrEnv
	}
	if cause == nil {
		return errors.New(e.Message)
	}
	return &remoteError{msg: e.Message, cause: cause}
}
