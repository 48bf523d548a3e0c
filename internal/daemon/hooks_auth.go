package daemon

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/webhook"
)

// hookScope is what an authenticated hook may deploy: with the daemon's
// global secret (stacks nil), every stack that has no secret of its own
// for the source; with a stack's own secret (x-cutover.hooks), that stack.
type hookScope struct {
	stacks map[string]bool
}

// allows reports whether a push from source, authenticated in this scope,
// may deploy the stack.
func (s hookScope) allows(w watchedStack, source string) bool {
	if s.stacks == nil {
		return !ownsSecret(w.stack.Ext.Hooks, source)
	}
	return s.stacks[w.name]
}

// denial says why a push from source, authenticated in this scope, may not
// deploy the stack; "" when it may. It names secrets, never their values.
func (s hookScope) denial(w watchedStack, source string) string {
	switch {
	case s.allows(w, source):
		return ""
	case s.stacks == nil:
		return "the stack names its own " + source + " secret in x-cutover.hooks, and the hook carried the global one"
	}
	return "the hook carried another stack's own " + source + " secret (x-cutover.hooks of " + s.String() + "), which deploys only those"
}

// String is "global" or the stacks' names, for the log.
func (s hookScope) String() string {
	if s.stacks == nil {
		return "global"
	}
	names := make([]string, 0, len(s.stacks))
	for n := range s.stacks {
		names = append(names, n)
	}
	sort.Strings(names)
	return "stacks " + strings.Join(names, ",")
}

// ownsSecret reports whether a stack's x-cutover.hooks names its own
// secret for source.
func ownsSecret(h *compose.Hooks, source string) bool {
	if h == nil {
		return false
	}
	switch source {
	case webhook.SourceDockerHub:
		return h.DockerHubTokenEnv != ""
	case webhook.SourceRegistry:
		return h.RegistryAuthEnv != ""
	case webhook.SourceGitHub:
		return h.GitHubSecretEnv != ""
	case webhook.SourceGeneric:
		return h.GenericSecretEnv != "" || h.GenericTokenEnv != ""
	}
	return false
}

// stackReceiver is a Receiver holding one stack's own secrets, read from
// the variables its x-cutover.hooks names.
func (h *hooks) stackReceiver(x *compose.Hooks) webhook.Receiver {
	get := func(name string) string {
		if name == "" {
			return ""
		}
		return strings.TrimSpace(h.getenv(name))
	}
	return webhook.Receiver{
		DockerHubToken:        get(x.DockerHubTokenEnv),
		RegistryAuthorization: get(x.RegistryAuthEnv),
		GitHubSecret:          get(x.GitHubSecretEnv),
		GenericSecret:         get(x.GenericSecretEnv),
		GenericToken:          get(x.GenericTokenEnv),
		RegistryHost:          h.rc.RegistryHost,
		MaxBody:               h.rc.MaxBody,
	}
}

// authenticate checks the request against the global secrets, then against
// every stack's own, and parses it: the pushes, the scope they may deploy,
// or the error to answer with (webhook.StatusCode). The body was read
// already; each Receiver reads it again from memory.
func (h *hooks) authenticate(r *http.Request, source string, body []byte) ([]webhook.Push, hookScope, error) {
	pushes, err := h.receive(h.rc, source, r, body)
	if !errors.Is(err, webhook.ErrUnauthorized) {
		return pushes, hookScope{}, err
	}
	unauthorized := err
	stacks, lerr := h.index.load(r.Context())
	if lerr != nil {
		h.log.Warn("hook: reading the stacks' own secrets", "error", lerr)
		return nil, hookScope{}, unauthorized
	}
	scope := hookScope{stacks: map[string]bool{}}
	var first []webhook.Push
	var firstErr error
	for _, w := range stacks {
		if !ownsSecret(w.stack.Ext.Hooks, source) {
			continue
		}
		got, err := h.receive(h.stackReceiver(w.stack.Ext.Hooks), source, r, body)
		if errors.Is(err, webhook.ErrUnauthorized) {
			continue
		}
		if len(scope.stacks) == 0 {
			first, firstErr = got, err
		}
		scope.stacks[w.name] = true
	}
	if len(scope.stacks) == 0 {
		return nil, hookScope{}, unauthorized
	}
	return first, scope, firstErr
}

// receive runs one Receiver on the request, with the body replayed.
func (h *hooks) receive(rc webhook.Receiver, source string, r *http.Request, body []byte) ([]webhook.Push, error) {
	replay := r.Clone(r.Context())
	replay.Body = io.NopCloser(bytes.NewReader(body))
	replay.ContentLength = int64(len(body))
	// The body is in memory and within the limit: no ResponseWriter is
	// needed to refuse an oversized one.
	var w http.ResponseWriter
	switch source {
	case webhook.SourceDockerHub:
		p, err := rc.DockerHub(w, replay, r.PathValue("token"))
		return one(p, err)
	case webhook.SourceRegistry:
		return rc.Registry(w, replay)
	case webhook.SourceGitHub:
		return one(rc.GitHub(w, replay))
	default:
		return one(rc.Generic(w, replay))
	}
}

func one(p webhook.Push, err error) ([]webhook.Push, error) {
	if err != nil {
		return nil, err
	}
	return []webhook.Push{p}, nil
}
