package rolling

import "github.com/cutover/cutover/strategies"

// router adds the route steps of a routed service to a roll: a new
// container joins the route once ready, an old one drains before it stops.
// A nil router (the service is not routed) adds nothing.
type router struct {
	route   *strategies.Route
	service string
}

func routerOf(want strategies.Desired, service string) router {
	if r, ok := want.RouteOf(service); ok {
		return router{route: &r, service: service}
	}
	return router{service: service}
}

func (r router) add(container, cause string) []strategies.Step {
	if r.route == nil {
		return nil
	}
	return []strategies.Step{{Action: strategies.ActionRouteAdd, Service: r.service, Route: r.route, Container: container, Cause: cause}}
}

func (r router) drain(container, cause string) []strategies.Step {
	if r.route == nil {
		return nil
	}
	return []strategies.Step{{Action: strategies.ActionRouteDrain, Service: r.service, Route: r.route, Container: container, Cause: cause}}
}

// ensureRoutes makes the router serve every route of want.
func ensureRoutes(want strategies.Desired) []strategies.Step {
	var steps []strategies.Step
	for i := range want.Routes {
		r := want.Routes[i]
		steps = append(steps, strategies.Step{Action: strategies.ActionEnsureRoute, Service: r.Service, Route: &r, Cause: "entry point of " + r.Service})
	}
	return steps
}
