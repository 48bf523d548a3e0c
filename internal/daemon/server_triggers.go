package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// notifyDrainTimeout is how long a stopping daemon lets queued
// notifications go out.
const notifyDrainTimeout = 5 * time.Second

// triggered is the part of the Server that starts releases by itself: the
// hooks listener, the release queue, the periodic check.
type triggered struct {
	hooksL      net.Listener
	hooks       *hooks
	triggers    *triggers
	stopChecks  context.CancelFunc
	checkerDone sync.WaitGroup
}

// HooksAddr is where the webhook endpoints listen ("" without
// Hooks.Listen), with the port the system chose for ":0".
func (s *Server) HooksAddr() string {
	if s.hooksL == nil {
		return ""
	}
	return s.hooksL.Addr().String()
}

// startTriggers starts the release queue, binds the hooks listener (served
// once Start serves the API) and starts the periodic check.
func (s *Server) startTriggers(ctx context.Context) error {
	log := s.log.With("component", "triggers")
	index := newStackIndex(s.cfg.Store, log)
	debounce := s.cfg.Debounce
	if debounce == 0 {
		debounce = DefaultDebounce
	}
	s.triggers = newTriggers(triggersConfig{ops: s.ops, index: index, log: log, obs: s.cfg.Observer, debounce: debounce,
		lockWait: s.cfg.TriggerLockWait, callback: newHubCallback(s.cfg.Hooks.CallbackClient, log)})
	if addr := s.cfg.Hooks.Listen; addr != "" {
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("hooks: listening on %s: %w", addr, err)
		}
		s.hooksL = l
		s.hooks = newHooks(s.cfg.Hooks, index, s.triggers, s.log.With("component", "hooks"))
		s.log.Info("hooks listening", "addr", l.Addr().String(), "receiver", s.cfg.Hooks.Receiver)
	}
	if s.cfg.CheckInterval > 0 {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopChecks = cancel
		c := newCheckLoop(s.ops, s.triggers, s.cfg.CheckInterval, s.log.With("component", "check"))
		s.checkerDone.Go(func() { c.run(cctx) })
	}
	return nil
}

// stopTriggers stops starting releases: no more periodic checks, queued
// pushes dropped. A release in progress goes on until the shutdown ends it.
func (s *Server) stopTriggers() {
	if s.stopChecks != nil {
		s.stopChecks()
	}
	s.checkerDone.Wait()
	if s.triggers != nil {
		s.triggers.close()
	}
}

// waitTriggers waits for the queue's goroutines, once operations have ended.
func (s *Server) waitTriggers() {
	if s.triggers != nil {
		s.triggers.wait()
	}
}

// serveHooks serves the webhook endpoints on their listener. The hooks log
// their own requests, with a Docker Hub token redacted from the path, so
// the API's request log is not used.
func (s *Server) serveHooks() {
	s.serveHTTP(s.hooksL, &http.Server{Handler: s.hooks.handler(), ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second},
		"serving hooks on")
}
