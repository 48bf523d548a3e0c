package deploy

import (
	"context"

	"github.com/cutover/cutover/lb"
)

// Router moves a stack's traffic between containers. The built-in proxy
// (lb.Proxy, wrapped by the daemon to persist the routing table), the nginx
// router (nginx.Router) and the dns router (dns.Server, dns.Updater)
// implement it, and so does the RouterMux a Deployer uses, which sends each
// route to the router of its kind; a Deployer without a Router refuses
// plans that need one.
type Router interface {
	EnsureRoute(ctx context.Context, r lb.Route) error
	RemoveRoute(ctx context.Context, name string) error
	// CheckTargets waits until the router's own health probe passes for
	// every addr, without sending them traffic.
	CheckTargets(ctx context.Context, route string, addrs []string) error
	// SetTargets swaps the route's active targets atomically and returns
	// once the targets that left have drained.
	SetTargets(ctx context.Context, route string, addrs []string) error
	Targets(ctx context.Context, route string) ([]string, error)
	// Status lists every route with its targets.
	Status() []lb.RouteStatus
}

var _ Router = (*lb.Proxy)(nil)
