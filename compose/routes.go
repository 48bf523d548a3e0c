package compose

import (
	"fmt"
	"net"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// RouterFor is the router a release of strategy uses: x-cutover.router
// when set; else proxy for blue-green and canary, which cannot switch
// traffic without one, and none for the others.
func (s *Stack) RouterFor(strategy string) string {
	if s.Ext.Router != "" {
		return s.Ext.Router
	}
	if strategy == StrategyBlueGreen || strategy == StrategyCanary {
		return RouterProxy
	}
	return RouterNone
}

// routeOf returns the route of a service under router (proxy or nginx),
// or nil when the service is not routed. A service is routed when it has
// an x-cutover.route block or publishes a fixed host port: the router then
// owns that port and the containers publish nothing for it.
func (s *Stack) routeOf(svc types.ServiceConfig, router string) (*strategies.Route, error) {
	where := "services." + svc.Name + "." + ExtensionKey + ".route"
	ext := s.Services[svc.Name].Route
	if ext != nil && len(ext.Addresses) > 0 {
		return nil, fmt.Errorf("%s.addresses: only under router dns (this stack's router is %s)", where, router)
	}
	var published []types.ServicePortConfig
	for _, p := range svc.Ports {
		if p.Published != "" && p.Published != "0" && (p.Protocol == "" || p.Protocol == "tcp") {
			published = append(published, p)
		}
	}
	if ext == nil && len(published) == 0 {
		return nil, nil
	}
	r := &strategies.Route{Service: svc.Name}
	if ext != nil {
		r.Port = ext.Port
	}
	var binding *types.ServicePortConfig
	for i, p := range published {
		if r.Port == 0 || int(p.Target) == r.Port {
			if binding != nil && r.Port == 0 {
				return nil, fmt.Errorf("%s.port: service %s publishes several ports; say which container port the router serves", where, svc.Name)
			}
			binding = &published[i]
		}
	}
	if r.Port == 0 {
		if binding == nil {
			return nil, fmt.Errorf("%s.port: service %s publishes no port; set the container port the router serves", where, svc.Name)
		}
		r.Port = int(binding.Target)
	}
	listen := ""
	if ext != nil {
		listen = ext.Listen
	}
	if listen == "" {
		if binding == nil {
			return nil, fmt.Errorf("%s.listen: service %s publishes no host port for container port %d; set the address the router listens on (e.g. :8080)", where, svc.Name, r.Port)
		}
		listen = net.JoinHostPort(binding.HostIP, binding.Published)
	}
	r.Route = lb.Route{Name: s.Name + "/" + svc.Name, Listen: listen}
	if router != RouterProxy {
		r.Route.Router = router
	}
	if ext != nil {
		r.Route.Host = ext.Host
		r.Route.Health.Path = ext.Health
		if ext.DrainTimeout != nil {
			r.Route.DrainTimeout = time.Duration(*ext.DrainTimeout)
		}
	}
	if c := s.Ext.Canary; c != nil && c.Sticky != nil {
		r.Route.Sticky = &lb.Sticky{Cookie: c.Sticky.Cookie, Header: c.Sticky.Header}
	}
	return r, nil
}

// applyRoutes routes the services of d through router (proxy or nginx):
// each routed service stops publishing its route's port (the router
// listens there), so two of its containers can run at once, and gets the
// route's HTTP probe.
func (s *Stack) applyRoutes(d *strategies.Desired, router string) error {
	for i := range d.Services {
		svc := &d.Services[i]
		route, err := s.routeOf(s.Project.Services[svc.Name], router)
		if err != nil {
			return err
		}
		if route == nil {
			continue
		}
		var kept []string
		ports := svc.Template.Ports[:0:0]
		for _, p := range svc.Template.Ports {
			if int(p.ContainerPort) == route.Port && (p.Protocol == "" || p.Protocol == "tcp") {
				continue
			}
			ports = append(ports, p)
			if p.HostPort != "" && p.HostPort != "0" {
				kept = append(kept, p.HostPort)
			}
		}
		svc.Template.Ports = ports
		svc.FixedHostPorts = kept
		if len(svc.Template.Networks) == 0 {
			return fmt.Errorf("services.%s: a routed service needs a network the router can reach (network_mode %q has none)", svc.Name, svc.Template.NetworkMode)
		}
		route.Network = svc.Template.Networks[0].Network
		if route.Route.Health.Path != "" && svc.Ready.Probe == nil {
			svc.Ready.Probe = &strategies.HTTPProbe{Port: route.Port, Path: route.Route.Health.Path}
		}
		d.Routes = append(d.Routes, *route)
	}
	return nil
}

// DefaultVerifyTimeout bounds an x-cutover.verify check without a timeout.
const DefaultVerifyTimeout = 30 * time.Second

// applyVerify sets each routed service's x-cutover.verify check.
func (s *Stack) applyVerify(d *strategies.Desired) error {
	for i := range d.Services {
		svc := &d.Services[i]
		v := s.Services[svc.Name].Verify
		if v == nil {
			continue
		}
		if _, ok := d.RouteOf(svc.Name); !ok {
			return fmt.Errorf("services.%s.%s.verify: the service is not routed (no published port, no route block), so there is no switch to verify", svc.Name, ExtensionKey)
		}
		svc.Verify = &strategies.Verify{Path: v.HTTP, Command: v.Command, Timeout: DefaultVerifyTimeout}
		if v.Timeout != nil {
			svc.Verify.Timeout = time.Duration(*v.Timeout)
		}
	}
	return nil
}
