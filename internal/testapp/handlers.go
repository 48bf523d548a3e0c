package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"
)

// app serves the HTTP endpoints. now and started let tests control the clock.
type app struct {
	cfg     config
	started time.Time
	now     func() time.Time
}

func newApp(cfg config, started time.Time) *app {
	return &app{cfg: cfg, started: started, now: time.Now}
}

// handler returns the app's routes; every response carries X-Version.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", a.handleRoot)
	mux.HandleFunc("GET /version", a.handleVersion)
	mux.HandleFunc("GET /healthz", a.handleHealth)
	mux.HandleFunc("GET /hostname", a.handleHostname)
	mux.HandleFunc("GET /env", a.handleEnv)
	mux.HandleFunc("GET /slow", a.handleSlow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", a.cfg.Version)
		mux.ServeHTTP(w, r)
	})
}

// handleRoot answers with the version after TESTAPP_SLOW.
func (a *app) handleRoot(w http.ResponseWriter, r *http.Request) {
	if !sleep(r.Context(), a.cfg.Slow) {
		return
	}
	text(w, http.StatusOK, a.cfg.Version)
}

func (a *app) handleVersion(w http.ResponseWriter, _ *http.Request) {
	text(w, http.StatusOK, a.cfg.Version)
}

func (a *app) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if !a.healthy() {
		text(w, http.StatusServiceUnavailable, "unhealthy")
		return
	}
	text(w, http.StatusOK, "ok")
}

// healthy reports TESTAPP_HEALTH, turned off once TESTAPP_UNHEALTHY_AFTER has passed.
func (a *app) healthy() bool {
	if !a.cfg.Healthy {
		return false
	}
	return a.cfg.UnhealthyAfter <= 0 || a.now().Sub(a.started) < a.cfg.UnhealthyAfter
}

func (a *app) handleHostname(w http.ResponseWriter, _ *http.Request) {
	name, err := os.Hostname()
	if err != nil {
		text(w, http.StatusInternalServerError, err.Error())
		return
	}
	text(w, http.StatusOK, name)
}

func (a *app) handleEnv(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("k")
	if key == "" {
		text(w, http.StatusBadRequest, "missing query parameter k")
		return
	}
	v, ok := os.LookupEnv(key)
	if !ok {
		text(w, http.StatusNotFound, key+" is not set")
		return
	}
	text(w, http.StatusOK, v)
}

func (a *app) handleSlow(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("d"))
	if err != nil || d < 0 {
		text(w, http.StatusBadRequest, "query parameter d must be a non-negative duration")
		return
	}
	if !sleep(r.Context(), d) {
		return
	}
	text(w, http.StatusOK, a.cfg.Version)
}

// sleep waits d, or less if ctx ends first; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// text writes a plain-text body followed by a newline.
func text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, body)
}
