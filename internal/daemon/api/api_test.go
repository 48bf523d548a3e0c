package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

func TestDuration_JSON(t *testing.T) {
	data, err := json.Marshal(Duration(90 * time.Second))
	if err != nil || string(data) != `"1m30s"` {
		t.Fatalf("marshal = %s, %v; want \"1m30s\"", data, err)
	}
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: `"2m"`, want: 2 * time.Minute},
		{in: `1500000000`, want: 1500 * time.Millisecond},
		{in: `"soon"`, bad: true},
		{in: `true`, bad: true},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if tc.bad != (err != nil) || (!tc.bad && time.Duration(d) != tc.want) {
			t.Errorf("unmarshal %s = %v, %v", tc.in, time.Duration(d), err)
		}
	}
}

func TestOverrides_RoundTrip(t *testing.T) {
	interval := 3 * time.Second
	in := deploy.Overrides{BatchSize: 2, Interval: &interval, Order: "stop-first", AllowStopFirst: true, HealthTimeout: time.Minute, Pull: "never"}
	data, err := json.Marshal(OverridesOf(in))
	if err != nil {
		t.Fatal(err)
	}
	var w Overrides
	if err := json.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	out := w.Deploy()
	if out.BatchSize != 2 || out.Interval == nil || *out.Interval != interval || out.Order != "stop-first" || !out.AllowStopFirst || out.HealthTimeout != time.Minute || out.Pull != "never" {
		t.Errorf("round trip of %+v gave %+v (wire %s)", in, out, data)
	}
	// An unset interval stays unset: zero is a real value (no wait).
	if OverridesOf(deploy.Overrides{}).Deploy().Interval != nil {
		t.Error("unset interval came back set")
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind Kind
		code int
	}{
		{err: deploy.BadInput("no such service"), kind: KindBadInput, code: 2},
		{err: fmt.Errorf("confirm: %w", deploy.ErrNothingToDo), kind: KindBadInput, code: 2},
		{err: &store.LockedError{Lock: store.Lock{Stack: "shop"}}, kind: KindConflict, code: 3},
		{err: fmt.Errorf("release 2: %w: boom", deploy.ErrDeployFailed), kind: KindFailed, code: 1},
		{err: deploy.ErrAborted, kind: KindFailed, code: 1},
		{err: context.Canceled, kind: KindFailed, code: 1},
		{err: EnvError(errors.New("cannot reach the Docker engine")), kind: KindEnv, code: 4},
		{err: deploy.ErrNoRouter, kind: KindEnv, code: 4},
		{err: errors.New("something else"), kind: KindInternal, code: 1},
	} {
		if got := KindOf(tc.err); got != tc.kind || got.ExitCode() != tc.code {
			t.Errorf("KindOf(%v) = %s (exit %d), want %s (exit %d)", tc.err, got, got.ExitCode(), tc.kind, tc.code)
		}
	}
}

func TestErrorOf_KeepsTheMessageNotTheLockToken(t *testing.T) {
	locked := &store.LockedError{Lock: store.Lock{Stack: "shop", Release: 3, PID: 42, Host: "h", Token: "secret-token"}, Stale: true}
	err := fmt.Errorf("taking down shop: %w", locked)
	e := ErrorOf(err)
	if e.Message != err.Error() || e.Kind != KindConflict || e.Lock == nil || e.Lock.PID != 42 || !e.Stale {
		t.Fatalf("ErrorOf = %+v", e)
	}
	data, _ := json.Marshal(e)
	if strings.Contains(string(data), "secret-token") {
		t.Errorf("the lock's token went on the wire: %s", data)
	}
	if locked.Lock.Token != "secret-token" {
		t.Error("ErrorOf changed the caller's lock")
	}
}
