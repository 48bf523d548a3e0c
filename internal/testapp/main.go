// Command testapp is a small HTTP server used as the workload in cutover's
// tests, benchmarks and demo. It is built as a static binary (CGO_ENABLED=0)
// and runs in FROM scratch images, so it also carries its own health probe.
//
// Behaviour is configured with environment variables:
//
//	TESTAPP_VERSION          version reported by the app (default "dev")
//	TESTAPP_LISTEN           listen address (default ":8080")
//	TESTAPP_START_DELAY      duration to sleep before listening (slow start)
//	TESTAPP_HEALTH           "ok" (default) or "fail": GET /healthz answers 200 or 503
//	TESTAPP_UNHEALTHY_AFTER  duration after which GET /healthz answers 503
//	TESTAPP_CRASH_AFTER      duration after which the process exits with status 3
//	TESTAPP_SLOW             duration every request to / waits before answering
//	TESTAPP_EXIT_ON_START    "1": exit with status 2 at once (a container that never runs)
//
// Durations use Go syntax ("500ms", "2s"). UNHEALTHY_AFTER and CRASH_AFTER
// count from the moment the app starts listening.
//
// Endpoints (plain-text bodies ending in a newline; every response carries an
// X-Version header):
//
//	GET /               the version; any other unmatched path or method answers the same
//	GET /version        the version
//	GET /healthz        "ok" (200) or "unhealthy" (503)
//	GET /hostname       os.Hostname()
//	GET /env?k=NAME     the value of environment variable NAME (404 when unset)
//	GET /slow?d=500ms   sleeps d, then answers like /
//
// Probe mode, for a Docker HEALTHCHECK in an image without a shell or curl:
//
//	testapp -probe [URL]
//	testapp probe [URL]
//
// GETs URL (default http://127.0.0.1:<port of TESTAPP_LISTEN>/healthz) with a
// 2 s timeout and exits 0 on a 2xx answer, 1 otherwise.
//
// On SIGTERM or SIGINT the server stops accepting connections and finishes
// in-flight requests for up to 10 s. Logs go to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	probeFlag := flag.Bool("probe", false, "probe `[URL]` and exit 0 on a 2xx answer, 1 otherwise")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: testapp [-probe [URL]] | testapp probe [URL]\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	args := flag.Args()
	if !*probeFlag && len(args) > 0 && args[0] == "probe" {
		*probeFlag, args = true, args[1:]
	}
	if *probeFlag {
		target := defaultProbeURL(os.Getenv(envListen))
		if len(args) > 0 {
			target = args[0]
		}
		if err := probe(context.Background(), target); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(args) > 0 {
		flag.Usage()
		os.Exit(2)
	}

	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	if cfg.ExitOnStart {
		logger.Error("exiting on start", "env", envExitOnStart, "status", 2)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("server failed", "err", err)
		os.Exit(1)
	}
}
