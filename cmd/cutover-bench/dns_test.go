package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRunDNS_PrintsFiguresForBothBackends(t *testing.T) {
	var out bytes.Buffer
	if err := runDNS(t.Context(), &out, []string{"-switches", "5", "-queries", "50"}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"built-in server on 127.0.0.1:",
		"answers with the old address after SetTargets returned: 0",
		"right after a switch: 10 of 10 answered the new address",
		"weight 10 %:", "weight 50 %:", "weight 90 %:",
		"RFC 2136 to a private BIND",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "RFC 2136: skipped") {
		t.Errorf("named is needed for this test (scripts/deps.sh):\n%s", got)
	}
	if n := len(regexp.MustCompile(`\(n=5\)`).FindAllString(got, -1)); n != 4 {
		t.Errorf("want 4 summaries of 5 switches, found %d:\n%s", n, got)
	}
}

func TestDNSStats(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := dnsStats(ds)
	if s.min != time.Millisecond || s.p50 != 50*time.Millisecond || s.p99 != 99*time.Millisecond || s.max != 100*time.Millisecond || s.n != 100 {
		t.Errorf("%+v", s)
	}
}
