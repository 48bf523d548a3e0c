package daemon

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/webhook"
)

// HooksConfig configures the webhook endpoints (cutover serve
// --hooks-listen). They are served on a listener of their own, never with
// the API: webhooks come from outside and authenticate per source, and the
// API's bearer token must not be exposed with them.
type HooksConfig struct {
	// Listen is the TCP address of the hooks listener ("" serves none).
	Listen string
	// Receiver holds the global secrets (each source's, for every stack
	// that has none of its own), the registry host override and the body
	// size limit. A source without a secret refuses every hook (401)
	// unless a stack names its own.
	Receiver webhook.Receiver
	// Getenv reads the variables x-cutover.hooks names (nil: os.Getenv).
	Getenv func(string) string
	// CallbackClient posts Docker Hub's callbacks (nil: a client with a 5s
	// timeout per attempt). Tests point it at a local server.
	CallbackClient *http.Client
}

// Hook endpoint paths.
const (
	HookPathDockerHub = webhook.DockerHubPathPrefix + "{token}"
	HookPathRegistry  = "/hooks/registry"
	HookPathGitHub    = "/hooks/github"
	HookPathGeneric   = "/hooks/generic"
)

// hooks serves the webhook endpoints: it authenticates and reads each
// notification, answers at once (202 when it holds pushes, which are then
// matched and queued in the background), and never logs a secret.
type hooks struct {
	rc       webhook.Receiver
	getenv   func(string) string
	index    *stackIndex
	triggers *triggers
	dedupe   *webhook.Dedupe
	log      *slog.Logger
}

func newHooks(cfg HooksConfig, index *stackIndex, t *triggers, log *slog.Logger) *hooks {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return &hooks{rc: cfg.Receiver, getenv: cfg.Getenv, index: index, triggers: t,
		dedupe: webhook.NewDedupe(0, 0), log: log}
}

// hookReply is the JSON body of every answer.
type hookReply struct {
	// Status is accepted, duplicate, ignored or error.
	Status string `json:"status"`
	// Pushes are the accepted pushes, repo:tag[@digest].
	Pushes []string `json:"pushes,omitempty"`
	// Message says why a hook was ignored or refused.
	Message string `json:"message,omitempty"`
}

func (h *hooks) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+HookPathDockerHub, h.serve(webhook.SourceDockerHub))
	mux.HandleFunc("POST "+HookPathRegistry, h.serve(webhook.SourceRegistry))
	mux.HandleFunc("POST "+HookPathGitHub, h.serve(webhook.SourceGitHub))
	mux.HandleFunc("POST "+HookPathGeneric, h.serve(webhook.SourceGeneric))
	// Without a method the same paths take every other method: the
	// catch-all below would otherwise answer them 404, hiding the mux's 405.
	for _, path := range []string{HookPathDockerHub, HookPathRegistry, HookPathGitHub, HookPathGeneric} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeHook(w, http.StatusMethodNotAllowed, hookReply{Status: "error",
				Message: "method " + r.Method + " not allowed: hooks are POST requests"})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeHook(w, http.StatusNotFound, hookReply{Status: "error",
			Message: "no such hook (POST /hooks/dockerhub/<token>, /hooks/registry, /hooks/github or /hooks/generic; see docs/triggers.md)"})
	})
	return h.logRequests(mux)
}

// serve answers one source's hooks.
func (h *hooks) serve(source string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.ReadBody(w, r, h.rc.MaxBody)
		if err != nil {
			h.refuse(w, source, err)
			return
		}
		pushes, scope, err := h.authenticate(r, source, body)
		if err != nil {
			h.refuse(w, source, err)
			return
		}
		reply := hookReply{Status: "accepted"}
		for _, p := range pushes {
			if h.dedupe.SeenIn(scope.String(), p) {
				h.log.Info("hook: push already seen (it repeats the tag's last push)", "push", p)
				continue
			}
			if !h.triggers.submit(p, scope) {
				// The sender retries a 503: its retry must not be a duplicate.
				h.dedupe.ForgetIn(scope.String(), p)
				writeHook(w, http.StatusServiceUnavailable, hookReply{Status: "error", Message: "the daemon is stopping or too many pushes wait: retry later"})
				return
			}
			h.log.Info("hook: push accepted", "push", p, "scope", scope.String())
			reply.Pushes = append(reply.Pushes, p.Image())
		}
		if len(reply.Pushes) == 0 {
			writeHook(w, http.StatusOK, hookReply{Status: "duplicate", Message: "already received; nothing new to deploy"})
			return
		}
		writeHook(w, http.StatusAccepted, reply)
	}
}

// refuse answers a hook that brings nothing to deploy: 200 when it was
// understood and ignored (a ping, a blob push), else the error's status.
// Messages never hold a secret (the webhook package's promise).
func (h *hooks) refuse(w http.ResponseWriter, source string, err error) {
	code := webhook.StatusCode(err)
	if errors.Is(err, webhook.ErrIgnored) {
		h.log.Debug("hook ignored", "source", source, "reason", err)
		writeHook(w, code, hookReply{Status: "ignored", Message: strings.TrimPrefix(err.Error(), webhook.ErrIgnored.Error()+": ")})
		return
	}
	h.log.Warn("hook refused", "source", source, "status", code, "error", err)
	writeHook(w, code, hookReply{Status: "error", Message: err.Error()})
}

func writeHook(w http.ResponseWriter, status int, reply hookReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply)
}

// logRequests logs each hook: method, path (a Docker Hub token redacted),
// status, duration and the sender's address. Headers and bodies, where
// the other secrets travel, are never logged.
func (h *hooks) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		h.log.Info("hook request", "method", r.Method, "path", webhook.RedactPath(r.URL.Path), "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}
