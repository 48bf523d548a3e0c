package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// shutdownTimeout bounds how long in-flight requests may run after SIGTERM.
const shutdownTimeout = 10 * time.Second

// serve runs the server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	if cfg.StartDelay > 0 {
		logger.Info("delaying start", "delay", cfg.StartDelay)
		if !sleep(ctx, cfg.StartDelay) {
			logger.Info("stopped before start")
			return nil
		}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	return serveOn(ctx, ln, cfg, logger)
}

// serveOn serves on ln until ctx ends, then finishes in-flight requests.
func serveOn(ctx context.Context, ln net.Listener, cfg config, logger *slog.Logger) error {
	started := time.Now()
	srv := &http.Server{
		Handler:           newApp(cfg, started).handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	if cfg.CrashAfter > 0 {
		crash := time.AfterFunc(cfg.CrashAfter, func() {
			logger.Error("crashing as configured", "after", cfg.CrashAfter, "status", 3)
			os.Exit(3)
		})
		defer crash.Stop()
	}

	logger.Info("listening", "addr", ln.Addr().String(), "version", cfg.Version,
		"healthy", cfg.Healthy, "unhealthy_after", cfg.UnhealthyAfter,
		"crash_after", cfg.CrashAfter, "slow", cfg.Slow)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	logger.Info("stopped")
	return nil
}
