package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// dnsSummary is min/p50/p99/max of a set of durations.
type dnsSummary struct {
	n                  int
	min, p50, p99, max time.Duration
}

func dnsStats(ds []time.Duration) dnsSummary {
	if len(ds) == 0 {
		return dnsSummary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return dnsSummary{n: len(s), min: s[0], p50: dnsPercentile(s, 50), p99: dnsPercentile(s, 99), max: s[len(s)-1]}
}

func (s dnsSummary) String() string {
	return fmt.Sprintf("min %s  p50 %s  p99 %s  max %s  (n=%d)", dnsMs(s.min), dnsMs(s.p50), dnsMs(s.p99), dnsMs(s.max), s.n)
}

// dnsPercentile is the nearest-rank p-th percentile of sorted.
func dnsPercentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func dnsMs(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func dnsVerdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func dnsMatch(ok bool) string {
	if ok {
		return "matches"
	}
	return "OFF"
}

// bindtestVersion runs named -v.
func bindtestVersion(ctx context.Context, named string) (string, error) {
	out, err := exec.CommandContext(ctx, named, "-v").Output()
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", fmt.Errorf("named -v: %q", out)
	}
	return f[0] + " " + f[1], nil
}
