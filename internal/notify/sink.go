package notify

import (
	"context"
	"slices"
)

// Sink delivers events to one destination.
type Sink interface {
	// Name says where events go, safe to log: "slack https://hooks.slack.com/***".
	Name() string
	// Send delivers one event, retrying as the sink sees fit, until ctx ends.
	Send(ctx context.Context, e Event) error
}

// Only wraps a sink so that it receives only events of the given kinds;
// no kinds means all.
func Only(s Sink, kinds ...string) Sink {
	if len(kinds) == 0 {
		return s
	}
	return &filtered{Sink: s, kinds: slices.Clone(kinds)}
}

type filtered struct {
	Sink
	kinds []string
}

// wants reports whether a sink takes events of kind.
func wants(s Sink, kind string) bool {
	f, ok := s.(*filtered)
	return !ok || slices.Contains(f.kinds, kind)
}
