package compose

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// applyDNSRoutes routes the services of d by DNS, for a release in color:
// each service with an x-cutover.route block publishes its ports on the
// color's address (route.addresses), so that both colors publish the same
// port side by side, and its route answers route.host with the serving
// color's address. The router's targets are <color address>:<published
// port>.
func (s *Stack) applyDNSRoutes(d *strategies.Desired, color string) error {
	if color == "" {
		return fmt.Errorf("%s.router: dns switches whole colors (one address per color): use strategy bluegreen or canary", ExtensionKey)
	}
	var zone string
	if s.Ext.DNS != nil && s.Ext.DNS.Zone != "" {
		zone = s.Ext.DNS.Zone
	}
	for i := range d.Services {
		svc := &d.Services[i]
		ext := s.Services[svc.Name].Route
		if ext == nil {
			continue
		}
		where := "services." + svc.Name + "." + ExtensionKey + ".route"
		if s.IsShared(svc.Name) {
			return fmt.Errorf("%s: service %s is shared (it runs once for both colors), so there is no color to switch by DNS; route a colored service", where, svc.Name)
		}
		switch {
		case ext.Host == "":
			return fmt.Errorf("%s.host: router dns needs the name clients resolve (e.g. app.example.test)", where)
		case !isDomainName(ext.Host):
			return fmt.Errorf("%s.host: %q is not a domain name", where, ext.Host)
		case zone != "" && !inZone(ext.Host, zone):
			return fmt.Errorf("%s.host: %s is outside %s.dns.zone %s", where, ext.Host, ExtensionKey, zone)
		case len(ext.Addresses) == 0:
			return fmt.Errorf("%s.addresses: router dns needs the address each color publishes the service's ports on, e.g. {blue: 127.0.0.11, green: 127.0.0.12}", where)
		case ext.Listen != "":
			return fmt.Errorf("%s.listen: means nothing under router dns: clients resolve route.host and connect to the published port on the serving color's address", where)
		case ext.DrainTimeout != nil:
			return fmt.Errorf("%s.drain_timeout: means nothing under router dns (DNS cannot drain); the old color keeps serving for the keep-old window (%s.dns.keep_old)", where, ExtensionKey)
		case svc.Replicas > 1:
			return fmt.Errorf("services.%s.deploy.replicas: %d: under router dns each color publishes the service's ports on its own address, which one container can bind: run 1 replica per color", svc.Name, svc.Replicas)
		}
		addr := ext.Addresses[color]
		port, published, err := dnsPorts(s.Project.Services[svc.Name], ext.Port, where)
		if err != nil {
			return err
		}
		// Every port the service publishes is bound to the color's address.
		for j := range svc.Template.Ports {
			svc.Template.Ports[j].HostIP = addr
		}
		svc.FixedHostPorts = nil
		if len(svc.Template.Networks) == 0 {
			return fmt.Errorf("services.%s: a routed service needs a network cutover can probe it on (network_mode %q has none)", svc.Name, svc.Template.NetworkMode)
		}
		r := strategies.Route{
			Service:       svc.Name,
			Port:          port,
			Network:       svc.Template.Networks[0].Network,
			Addresses:     map[string]string{"blue": ext.Addresses["blue"], "green": ext.Addresses["green"]},
			PublishedPort: published,
			Route: lb.Route{Name: s.Name + "/" + svc.Name, Router: RouterDNS, Host: ext.Host,
				Listen: net.JoinHostPort("", strconv.Itoa(published)), Health: lb.Health{Path: ext.Health}},
		}
		if k := s.Ext.DNS; k != nil && k.KeepOld != nil {
			r.KeepOld = time.Duration(*k.KeepOld)
		}
		if ext.Health != "" && svc.Ready.Probe == nil {
			svc.Ready.Probe = &strategies.HTTPProbe{Port: port, Path: ext.Health}
		}
		d.Routes = append(d.Routes, r)
	}
	return nil
}

// dnsPorts returns the container port of a dns route (route.port, else the
// only TCP port the service publishes) and the fixed host port it is
// published on.
func dnsPorts(svc types.ServiceConfig, port int, where string) (int, int, error) {
	var binding *types.ServicePortConfig
	for i, p := range svc.Ports {
		if p.Protocol != "" && p.Protocol != "tcp" {
			continue
		}
		if port == 0 || int(p.Target) == port {
			if binding != nil && port == 0 {
				return 0, 0, fmt.Errorf("%s.port: service %s publishes several ports; say which container port the route serves", where, svc.Name)
			}
			binding = &svc.Ports[i]
		}
	}
	switch {
	case binding == nil && port == 0:
		return 0, 0, fmt.Errorf("%s.port: service %s publishes no TCP port: under router dns clients connect to the published port on the color's address (e.g. ports: [\"8080:8080\"])", where, svc.Name)
	case binding == nil:
		return 0, 0, fmt.Errorf("services.%s.ports: container port %d is not published: under router dns clients connect to the published port on the color's address (e.g. ports: [\"%d:%d\"])", svc.Name, port, port, port)
	}
	published, err := strconv.Atoi(binding.Published)
	if err != nil || published <= 0 {
		return 0, 0, fmt.Errorf("services.%s.ports: container port %d is published on no fixed host port (%q): under router dns both colors publish the same port, on their own addresses", svc.Name, binding.Target, binding.Published)
	}
	return int(binding.Target), published, nil
}
