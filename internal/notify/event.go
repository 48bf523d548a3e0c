// Package notify sends release notifications — a release started,
// succeeded, failed or was rolled back — to Slack (or any Slack-compatible
// incoming webhook), to a generic JSON webhook (optionally signed with
// HMAC-SHA256) and by email over SMTP.
//
// A Notifier fans each event out to the configured sinks from a bounded
// queue, so a deploy never waits on a slow chat server: Notify returns at
// once and Close flushes what is queued, within a deadline. HTTP deliveries
// go through go-retryablehttp, which retries connection errors, 429 and 5xx
// answers with short waits; SMTP deliveries retry connection errors and 4xx
// replies. Failures are logged with slog; webhook URLs are logged redacted,
// secrets never.
package notify

import (
	"encoding/json"
	"time"
)

// Event kinds.
const (
	KindStart    = "start"
	KindSuccess  = "success"
	KindFailure  = "failure"
	KindRollback = "rollback"
)

// Kinds lists the event kinds, in lifecycle order.
var Kinds = []string{KindStart, KindSuccess, KindFailure, KindRollback}

// Event is one thing that happened to a release.
type Event struct {
	// Kind is start, success, failure or rollback.
	Kind  string
	Stack string
	// Release is the release number (1, 2, 3 …).
	Release int
	// Images maps each service to the image it runs in this release
	// (a reference, pinned to a digest where known).
	Images   map[string]string
	Strategy string
	// Trigger says who or what started the release, as the release
	// records it: "cli", "api", "webhook:dockerhub", "check",
	// "rollback --to 2" ….
	Trigger string
	// Duration is how long the release took (zero for start).
	Duration time.Duration
	// Reason says why a release failed or was rolled back.
	Reason string
	// Time is when it happened; Notify sets it when zero.
	Time time.Time
}

// eventJSON is the generic webhook's body. Its field names are stable:
// receivers may rely on them.
type eventJSON struct {
	Kind       string            `json:"kind"`
	Stack      string            `json:"stack"`
	Release    int               `json:"release"`
	Images     map[string]string `json:"images"`
	Strategy   string            `json:"strategy,omitempty"`
	Trigger    string            `json:"trigger,omitempty"`
	Duration   string            `json:"duration,omitempty"`
	DurationMS int64             `json:"duration_ms,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Time       time.Time         `json:"time"`
}

// MarshalJSON encodes the event with stable snake_case field names:
// kind, stack, release, images, strategy, trigger, duration ("6.1s"),
// duration_ms, reason and time (RFC 3339, UTC). duration and duration_ms
// come together, and neither for an event without a duration (start): a
// receiver must not read 0 ms as a release that took no time.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{
		Kind: e.Kind, Stack: e.Stack, Release: e.Release, Images: e.Images,
		Strategy: e.Strategy, Trigger: e.Trigger, Reason: e.Reason, Time: e.Time.UTC(),
	}
	if j.Images == nil {
		j.Images = map[string]string{}
	}
	if e.Duration > 0 {
		j.Duration = roundDuration(e.Duration).String()
		// At least 1: a release shorter than a millisecond still had a duration.
		j.DurationMS = max(e.Duration.Milliseconds(), 1)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes (for receivers written in
// Go, and for tests).
func (e *Event) UnmarshalJSON(data []byte) error {
	var j eventJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*e = Event{
		Kind: j.Kind, Stack: j.Stack, Release: j.Release, Images: j.Images,
		Strategy: j.Strategy, Trigger: j.Trigger, Duration: time.Duration(j.DurationMS) * time.Millisecond,
		Reason: j.Reason, Time: j.Time,
	}
	return nil
}

// roundDuration keeps durations readable: 6.1s, 2m3s, 150ms.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
