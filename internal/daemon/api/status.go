package api

import (
	"time"

	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

// StackStatus is one stack as `cutover status` shows it.
type StackStatus struct {
	Stack   string         `json:"stack"`
	Down    bool           `json:"down,omitempty"`
	Release *store.Release `json:"release,omitempty"` // the serving release
	Latest  *store.Release `json:"latest,omitempty"`  // the newest release, when different
	// Color is the blue-green color serving traffic ("" for an uncolored stack).
	Color string `json:"color,omitempty"`
	// Standby is the other color while it still runs (awaiting confirm, or
	// kept for an instant rollback).
	Standby    *Standby          `json:"standby,omitempty"`
	Containers []ContainerStatus `json:"containers"`
	// Routes are the stack's routes on the daemon's proxy ("<stack>/<service>");
	// empty when no daemon runs.
	Routes []lb.RouteStatus `json:"routes,omitempty"`
}

// Standby is the color a blue-green stack keeps next to the serving one.
type Standby struct {
	Color   string `json:"color"`
	Release string `json:"release,omitempty"` // the release its containers carry
	Running int    `json:"running"`
	Total   int    `json:"total"`
}

// ContainerStatus is one container of a stack.
type ContainerStatus struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Color   string `json:"color,omitempty"`
	State   string `json:"state"`
	Health  string `json:"health,omitempty"`
	Image   string `json:"image"`
	Release string `json:"release,omitempty"`
}

// Health is GET /v1/health: the daemon answers and says what it is.
type Health struct {
	Version   string    `json:"version"`
	PID       int       `json:"pid"`
	StateDir  string    `json:"state_dir"`
	StartedAt time.Time `json:"started_at"`
	Uptime    Duration  `json:"uptime"`
}

// CountColor counts the containers of one color, and how many of them run.
func CountColor(cs []ContainerStatus, color string) (running, total int) {
	for _, c := range cs {
		if c.Color != color {
			continue
		}
		total++
		if c.State == "running" {
			running++
		}
	}
	return running, total
}
