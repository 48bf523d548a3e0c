package main

import (
	"fmt"
	"time"
)

// Environment variables read by testapp.
const (
	envVersion        = "TESTAPP_VERSION"
	envListen         = "TESTAPP_LISTEN"
	envStartDelay     = "TESTAPP_START_DELAY"
	envHealth         = "TESTAPP_HEALTH"
	envUnhealthyAfter = "TESTAPP_UNHEALTHY_AFTER"
	envCrashAfter     = "TESTAPP_CRASH_AFTER"
	envSlow           = "TESTAPP_SLOW"
	envExitOnStart    = "TESTAPP_EXIT_ON_START"
)

// config is the app's behaviour; zero durations mean "never" or "none".
type config struct {
	Version        string
	Listen         string
	StartDelay     time.Duration
	Healthy        bool // TESTAPP_HEALTH=ok
	UnhealthyAfter time.Duration
	CrashAfter     time.Duration
	Slow           time.Duration
	ExitOnStart    bool
}

// loadConfig reads the configuration through lookup (os.LookupEnv in main).
func loadConfig(lookup func(string) (string, bool)) (config, error) {
	get := func(key, def string) string {
		if v, ok := lookup(key); ok && v != "" {
			return v
		}
		return def
	}
	cfg := config{
		Version:     get(envVersion, "dev"),
		Listen:      get(envListen, ":8080"),
		ExitOnStart: get(envExitOnStart, "") == "1",
	}

	switch h := get(envHealth, "ok"); h {
	case "ok":
		cfg.Healthy = true
	case "fail":
		cfg.Healthy = false
	default:
		return config{}, fmt.Errorf("%s: want ok or fail, got %q", envHealth, h)
	}

	for _, d := range []struct {
		key string
		dst *time.Duration
	}{
		{envStartDelay, &cfg.StartDelay},
		{envUnhealthyAfter, &cfg.UnhealthyAfter},
		{envCrashAfter, &cfg.CrashAfter},
		{envSlow, &cfg.Slow},
	} {
		v := get(d.key, "")
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur < 0 {
			return config{}, fmt.Errorf("%s: want a non-negative duration, got %q", d.key, v)
		}
		*d.dst = dur
	}
	return cfg, nil
}
