package notify

import (
	"encoding/json"
	"testing"
	"time"
)

func TestText_FailedRelease(t *testing.T) {
	want := "hello: release 3 failed after 6.1s (rolling)\n" +
		"\n" +
		"Stack:     hello\n" +
		"Release:   3\n" +
		"Strategy:  rolling\n" +
		"Trigger:   webhook:dockerhub\n" +
		"Duration:  6.1s\n" +
		"Time:      2026-11-22 04:46:03 UTC\n" +
		"Images:\n" +
		"  web     myorg/web:1.4.3\n" +
		"  worker  myorg/worker:1.4.3\n" +
		"Reason:\n" +
		"  container hello-web-1 is unhealthy: GET /healthz: 500\n" +
		"\n-- \ncutover\n"
	if got := Text(failureEvent()); got != want {
		t.Errorf("Text:\n%s\nwant:\n%s", got, want)
	}
}

func TestTitle(t *testing.T) {
	for _, tc := range []struct {
		desc string
		e    Event
		want string
	}{
		{"start", Event{Kind: KindStart, Stack: "hello", Release: 4, Strategy: "bluegreen"}, "hello: release 4 started (bluegreen)"},
		{"success", Event{Kind: KindSuccess, Stack: "hello", Release: 4, Duration: 83 * time.Second}, "hello: release 4 succeeded in 1m23s"},
		{"rollback", Event{Kind: KindRollback, Stack: "hello", Release: 4, Duration: 150 * time.Millisecond, Strategy: "canary"}, "hello: release 4 was rolled back after 150ms (canary)"},
		{"no line breaks", Event{Kind: KindFailure, Stack: "a\nb", Release: 1}, "a b: release 1 failed"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Title(tc.e); got != tc.want {
				t.Errorf("Title = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEvent_JSONFieldNamesAreStable(t *testing.T) {
	got, err := json.Marshal(failureEvent())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"failure","stack":"hello","release":3,"images":{"web":"myorg/web:1.4.3","worker":"myorg/worker:1.4.3"},` +
		`"strategy":"rolling","trigger":"webhook:dockerhub","duration":"6.1s","duration_ms":6140,` +
		`"reason":"container hello-web-1 is unhealthy: GET /healthz: 500","time":"2026-11-22T04:46:03Z"}`
	if string(got) != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", got, want)
	}
	var back Event
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Duration != 6140*time.Millisecond || back.Images["worker"] != "myorg/worker:1.4.3" || !back.Time.Equal(failureEvent().Time) {
		t.Errorf("round trip = %+v", back)
	}
}

// A start has no duration: the webhook's body carries neither duration nor
// duration_ms (0 would read as a release that took no time).
func TestEvent_JSONWithoutDuration(t *testing.T) {
	start := failureEvent()
	start.Kind, start.Duration, start.Reason = KindStart, 0, ""
	got, err := json.Marshal(start)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(got, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"duration", "duration_ms", "reason"} {
		if v, ok := fields[k]; ok {
			t.Errorf("start event has %s = %v: %s", k, v, got)
		}
	}
	if fields["kind"] != "start" || fields["trigger"] != "webhook:dockerhub" {
		t.Errorf("start event = %s", got)
	}
}
