package deploy

import (
	"time"
)

// Event is one thing a deploy reports while it runs. Renderers for a
// terminal, plain lines and JSON live in the CLI; the core never prints.
type Event struct {
	Time    time.Time `json:"time"`
	Stack   string    `json:"stack"`
	Release int       `json:"release,omitempty"`
	// Kind is release, image, step or message.
	Kind    string `json:"kind"`
	Action  string `json:"action,omitempty"`
	Target  string `json:"target,omitempty"`
	Service string `json:"service,omitempty"`
	Cause   string `json:"cause,omitempty"`
	// Status is started, done, failed, undone or progress (or a release status).
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
}

// Event kinds.
const (
	KindRelease = "release"
	KindImage   = "image"
	KindStep    = "step"
	KindMessage = "message"
)

// Observer receives events. Implementations must be safe for concurrent use.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Event calls f.
func (f ObserverFunc) Event(e Event) { f(e) }

// Discard drops every event.
type Discard struct{}

// Event does nothing.
func (Discard) Event(Event) {}
