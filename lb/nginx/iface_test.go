package nginx

import (
	"context"

	"github.com/cutover/cutover/lb"
)

// deployRouter is deploy.Router's method set (internal/deploy/router.go),
// restated here because lb/nginx must not import internal/deploy.
type deployRouter interface {
	EnsureRoute(ctx context.Context, r lb.Route) error
	RemoveRoute(ctx context.Context, name string) error
	CheckTargets(ctx context.Context, route string, addrs []string) error
	SetTargets(ctx context.Context, route string, addrs []string) error
	Targets(ctx context.Context, route string) ([]string, error)
	Status() []lb.RouteStatus
}

// splitter is what canary needs on top of it.
type splitter interface {
	SetSplit(ctx context.Context, route string, s lb.Split) error
}

var (
	_ deployRouter = (*Router)(nil)
	_ splitter     = (*Router)(nil)
)
