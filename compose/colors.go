package compose

import (
	"fmt"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/strategies"
)

// DesiredOptions say how a release runs the stack.
type DesiredOptions struct {
	// Router is the effective router (RouterFor); proxy routes services.
	Router string
	// Color, when set, runs the colored services as compose project
	// <stack>-<color> (blue-green).
	Color string
}

// DesiredWith is Desired for a router and, in blue-green, a color.
func (s *Stack) DesiredWith(release int, images map[string]ResolvedImage, o DesiredOptions) (strategies.Desired, error) {
	d, err := s.Desired(release, images)
	if err != nil {
		return d, err
	}
	if c := s.Ext.Canary; c != nil {
		for _, st := range c.Steps {
			cs := strategies.CanaryStep{Weight: st.Weight}
			if st.Pause != nil {
				cs.Pause = time.Duration(*st.Pause)
			}
			d.Canary = append(d.Canary, cs)
		}
	}
	switch o.Router {
	case "", RouterNone:
	case RouterProxy, RouterNginx:
		if o.Router == RouterNginx && (s.Ext.Nginx == nil || s.Ext.Nginx.Dir == "") {
			return d, fmt.Errorf("%s.nginx.dir: router nginx needs the directory the host's nginx includes (e.g. /etc/nginx/cutover.d); see docs/routers/nginx.md", ExtensionKey)
		}
		if err := s.applyRoutes(&d, o.Router); err != nil {
			return d, err
		}
		if err := s.applyVerify(&d); err != nil {
			return d, err
		}
	case RouterDNS:
		if err := s.applyDNSRoutes(&d, o.Color); err != nil {
			return d, err
		}
		if err := s.applyVerify(&d); err != nil {
			return d, err
		}
	default:
		return d, fmt.Errorf("%s.router: unknown router %q (known: proxy, nginx, dns, none)", ExtensionKey, o.Router)
	}
	if o.Color != "" {
		if err := s.colorize(&d, o.Color); err != nil {
			return d, err
		}
	}
	return d, nil
}

// ColorProject is the compose project of a stack's color.
func ColorProject(stack, color string) string { return stack + "-" + color }

// StackProjects are the compose projects a stack's containers and
// networks live in: the stack's own and its two blue-green colors.
func StackProjects(stack string) []string {
	return []string{stack, ColorProject(stack, strategies.ColorBlue), ColorProject(stack, strategies.ColorGreen)}
}

// IsShared reports whether a service runs once for both colors: it says
// x-cutover.shared, or it mounts a named volume (two copies of a database
// on one volume would corrupt it).
func (s *Stack) IsShared(name string) bool {
	if s.Services[name].Shared {
		return true
	}
	for _, v := range s.Project.Services[name].Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source != "" {
			return true
		}
	}
	return false
}

// colorize turns the colored services of d into project <stack>-<color>:
// their own networks (so a colored service's name resolves to its own
// color), plus the stack's networks without aliases when shared services
// live there.
func (s *Stack) colorize(d *strategies.Desired, color string) error {
	project := ColorProject(s.Name, color)
	d.Color = color
	anyShared := false
	for i := range d.Services {
		svc := &d.Services[i]
		svc.Shared = s.IsShared(svc.Name)
		anyShared = anyShared || svc.Shared
	}
	colorNets := map[string]engine.NetworkSpec{} // stack network name → its color copy
	for _, n := range d.Networks {
		c := n
		c.Name = colorNetworkName(s.Name, project, n.Name)
		c.Labels = mergeLabels(n.Labels, map[string]string{LabelProject: project, LabelColor: color})
		colorNets[n.Name] = c
	}
	usedColorNets := map[string]bool{}
	for i := range d.Services {
		svc := &d.Services[i]
		if svc.Shared {
			svc.Project = s.Name
			continue
		}
		if svc.FixedName != "" {
			return fmt.Errorf("services.%s.container_name: %q cannot run in two colors; remove it or mark the service %s.shared", svc.Name, svc.FixedName, ExtensionKey)
		}
		if len(svc.FixedHostPorts) > 0 {
			return fmt.Errorf("services.%s.ports: host port %s would be published by both colors; route it (%s.route) or mark the service %s.shared",
				svc.Name, strings.Join(svc.FixedHostPorts, ", "), ExtensionKey, ExtensionKey)
		}
		svc.Project = project
		svc.NamePrefix = project + "-" + svc.Name + "-"
		t := &svc.Template
		t.Labels = mergeLabels(t.Labels, map[string]string{LabelProject: project, LabelColor: color})
		var nets []engine.NetworkAttachment
		var shared []engine.NetworkAttachment
		for _, a := range t.Networks {
			c, ok := colorNets[a.Network]
			if !ok {
				nets = append(nets, a) // external: shared by nature
				continue
			}
			usedColorNets[c.Name] = true
			ca := a
			ca.Network = c.Name
			ca.IPv4Address = "" // a fixed address cannot be used twice
			nets = append(nets, ca)
			if anyShared {
				shared = append(shared, engine.NetworkAttachment{Network: a.Network})
			}
		}
		t.Networks = append(nets, shared...)
	}
	for i := range d.Routes {
		r := &d.Routes[i]
		if c, ok := colorNets[r.Network]; ok && !sharedService(d, r.Service) {
			r.Network = c.Name
		}
	}
	var networks []engine.NetworkSpec
	if anyShared {
		networks = append(networks, d.Networks...)
	}
	for _, n := range d.Networks {
		if c := colorNets[n.Name]; usedColorNets[c.Name] {
			networks = append(networks, c)
		}
	}
	d.Networks = networks
	return nil
}

func sharedService(d *strategies.Desired, name string) bool {
	for _, svc := range d.Services {
		if svc.Name == name {
			return svc.Shared
		}
	}
	return false
}

// colorNetworkName names a stack network's copy for a color project:
// <stack>_<key> becomes <stack>-<color>_<key>; a network with its own name
// gets the color as a suffix.
func colorNetworkName(stack, project, name string) string {
	return strategies.ColorNetwork(stack, strings.TrimPrefix(project, stack+"-"), name)
}
