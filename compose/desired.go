package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/strategies"
)

// ResolvedImage is the local image a service will run.
type ResolvedImage struct {
	Ref string // reference containers are created from
	ID  string // local image ID
}

// Desired turns the stack into what release wants running, given the
// images resolved for each service.
func (s *Stack) Desired(release int, images map[string]ResolvedImage) (strategies.Desired, error) {
	d := strategies.Desired{Stack: s.Name, Release: release}
	order, err := s.DependencyOrder()
	if err != nil {
		return d, err
	}
	usedNetworks := map[string]bool{}
	usedVolumes := map[string]bool{}
	for _, name := range order {
		svc := s.Project.Services[name]
		img, ok := images[name]
		if !ok {
			return d, fmt.Errorf("service %s: no image resolved", name)
		}
		spec, err := s.containerTemplate(svc, img, release)
		if err != nil {
			return d, err
		}
		for _, key := range serviceNetworkKeys(svc) {
			usedNetworks[key] = true
		}
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				usedVolumes[v.Source] = true
			}
		}
		ext := s.Services[name]
		ready := strategies.ReadyPolicy{
			HealthTimeout: pickDuration(DefaultHealthTimeout, s.Ext.HealthTimeout, ext.HealthTimeout),
			MinReady:      pickDuration(DefaultMinReady, s.Ext.MinReady, ext.MinReady),
		}
		if r := ext.Route; r != nil && r.Port > 0 && r.Health != "" {
			ready.Probe = &strategies.HTTPProbe{Port: r.Port, Path: r.Health}
		}
		var update, rollback *types.UpdateConfig
		if svc.Deploy != nil {
			update, rollback = svc.Deploy.UpdateConfig, svc.Deploy.RollbackConfig
		}
		d.Services = append(d.Services, strategies.Service{
			Update:         updatePolicy(s.Ext.Rolling, update),
			Rollback:       updatePolicy(s.Ext.Rolling, rollback),
			FixedHostPorts: fixedHostPorts(svc),
			Name:           name,
			Replicas:       svc.GetScale(),
			Hash:           ContainerHash(spec.Labels),
			Template:       spec,
			FixedName:      svc.ContainerName,
			NamePrefix:     s.Name + "-" + name + "-",
			Project:        s.Name,
			LabelNumber:    LabelNumber,
			Ready:          ready,
		})
	}
	for _, key := range sortedKeys(usedNetworks) {
		n, ok := s.Project.Networks[key]
		if !ok {
			return d, fmt.Errorf("network %s: used by a service but not defined", key)
		}
		if n.External {
			d.ExternalNetworks = append(d.ExternalNetworks, n.Name)
			continue
		}
		d.Networks = append(d.Networks, engine.NetworkSpec{
			Name:       n.Name,
			Driver:     n.Driver,
			Internal:   n.Internal,
			Attachable: n.Attachable,
			Options:    n.DriverOpts,
			Labels: mergeLabels(n.Labels, map[string]string{
				LabelProject: s.Name, LabelNetwork: key, LabelVersion: ComposeVersion, LabelStack: s.Name,
			}),
		})
	}
	for _, key := range sortedKeys(usedVolumes) {
		v, ok := s.Project.Volumes[key]
		if !ok {
			continue // a bind path written as a volume source; compose-go resolved it
		}
		if v.External {
			d.ExternalVolumes = append(d.ExternalVolumes, v.Name)
			continue
		}
		d.Volumes = append(d.Volumes, engine.VolumeSpec{
			Name:    v.Name,
			Driver:  v.Driver,
			Options: v.DriverOpts,
			Labels: mergeLabels(v.Labels, map[string]string{
				LabelProject: s.Name, LabelVolume: key, LabelVersion: ComposeVersion, LabelStack: s.Name,
			}),
		})
	}
	return d, nil
}

// DependencyOrder returns service names with dependencies first; ties are
// broken by name so plans are deterministic.
func (s *Stack) DependencyOrder() ([]string, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("services: dependency cycle: %s", strings.Join(append(path, name), " → "))
		}
		state[name] = visiting
		svc := s.Project.Services[name]
		for _, dep := range sortedKeys(svc.DependsOn) {
			if _, ok := s.Project.Services[dep]; !ok {
				if svc.DependsOn[dep].Required {
					return fmt.Errorf("services.%s.depends_on: service %q is not in the stack (disabled by a profile?)", name, dep)
				}
				continue
			}
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, name)
		return nil
	}
	for _, name := range s.ServiceNames() {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func (s *Stack) containerTemplate(svc types.ServiceConfig, img ResolvedImage, release int) (engine.ContainerSpec, error) {
	where := "services." + svc.Name
	spec := engine.ContainerSpec{
		Image:       img.Ref,
		Command:     nilIfEmpty(svc.Command),
		Entrypoint:  nilIfEmpty(svc.Entrypoint),
		Env:         envList(svc.Environment),
		WorkingDir:  svc.WorkingDir,
		User:        svc.User,
		Hostname:    svc.Hostname,
		StopSignal:  svc.StopSignal,
		Init:        svc.Init,
		Tty:         svc.Tty,
		StdinOpen:   svc.StdinOpen,
		ReadOnly:    svc.ReadOnly,
		Privileged:  svc.Privileged,
		CapAdd:      svc.CapAdd,
		CapDrop:     svc.CapDrop,
		Sysctls:     svc.Sysctls,
		DNS:         svc.DNS,
		SecurityOpt: svc.SecurityOpt,
		MemoryBytes: int64(svc.MemLimit),
		NanoCPUs:    int64(float64(svc.CPUS) * 1e9),
		Healthcheck: healthcheck(svc.HealthCheck),
	}
	if svc.Deploy != nil {
		if r := svc.Deploy.Resources.Limits; r != nil {
			if r.MemoryBytes > 0 {
				spec.MemoryBytes = int64(r.MemoryBytes)
			}
			if r.NanoCPUs > 0 {
				spec.NanoCPUs = int64(float64(r.NanoCPUs) * 1e9)
			}
		}
	}
	if svc.StopGracePeriod != nil {
		d := time.Duration(*svc.StopGracePeriod)
		spec.StopTimeout = &d
	}
	if svc.Logging != nil {
		spec.LogDriver, spec.LogOptions = svc.Logging.Driver, svc.Logging.Options
	}
	restart, err := restartPolicy(svc)
	if err != nil {
		return spec, fmt.Errorf("%s.restart: %w", where, err)
	}
	spec.Restart = restart
	for host, ips := range svc.ExtraHosts {
		for _, ip := range ips {
			spec.ExtraHosts = append(spec.ExtraHosts, host+":"+ip)
		}
	}
	sort.Strings(spec.ExtraHosts)
	if len(svc.Tmpfs) > 0 {
		spec.Tmpfs = map[string]string{}
		for _, t := range svc.Tmpfs {
			path, opts, _ := strings.Cut(t, ":")
			spec.Tmpfs[path] = opts
		}
	}
	for _, p := range svc.Ports {
		spec.Ports = append(spec.Ports, engine.PortBinding{
			ContainerPort: p.Target, Protocol: p.Protocol, HostIP: p.HostIP, HostPort: p.Published,
		})
	}
	for _, v := range svc.Volumes {
		m, err := s.mount(v)
		if err != nil {
			return spec, fmt.Errorf("%s.volumes: %w", where, err)
		}
		spec.Mounts = append(spec.Mounts, m)
	}
	switch mode := svc.NetworkMode; {
	case mode == "" || mode == "bridge" && len(svc.Networks) > 0:
		for _, key := range serviceNetworkKeys(svc) {
			net, ok := s.Project.Networks[key]
			if !ok {
				return spec, fmt.Errorf("%s.networks: network %q is not defined", where, key)
			}
			att := engine.NetworkAttachment{Network: net.Name, Aliases: []string{svc.Name}}
			if cfg := svc.Networks[key]; cfg != nil {
				att.Aliases = append(att.Aliases, cfg.Aliases...)
				att.IPv4Address = cfg.Ipv4Address
			}
			spec.Networks = append(spec.Networks, att)
		}
	case mode == "host" || mode == "none" || mode == "bridge" || strings.HasPrefix(mode, "container:"):
		spec.NetworkMode = mode
	default:
		return spec, fmt.Errorf("%s.network_mode: %q is not supported by cutover (use host, none, bridge or container:NAME)", where, mode)
	}

	hash, err := configHash(svc, img.Ref)
	if err != nil {
		return spec, fmt.Errorf("%s: %w", where, err)
	}
	spec.Labels = mergeLabels(svc.Labels, map[string]string{
		LabelProject:     s.Name,
		LabelService:     svc.Name,
		LabelOneoff:      "False",
		LabelConfigHash:  hash,
		LabelImage:       img.ID,
		LabelVersion:     ComposeVersion,
		LabelWorkingDir:  s.Project.WorkingDir,
		LabelConfigFiles: strings.Join(s.Project.ComposeFiles, ","),
		LabelDependsOn:   dependsOnLabel(svc),
		LabelStack:       s.Name,
		LabelRelease:     strconv.Itoa(release),
	})
	return spec, nil
}

// ContainerHash identifies a container's configuration and image from its
// labels: two containers with the same hash run the same thing.
func ContainerHash(labels map[string]string) string {
	if labels[LabelConfigHash] == "" {
		return ""
	}
	return labels[LabelConfigHash] + "/" + labels[LabelImage]
}

// serviceNetworkKeys lists a service's networks, highest priority first
// (the first is the one the container is created on), then by name.
func serviceNetworkKeys(svc types.ServiceConfig) []string {
	if svc.NetworkMode != "" && svc.NetworkMode != "bridge" {
		return nil
	}
	if len(svc.Networks) == 0 {
		if svc.NetworkMode == "bridge" {
			return nil
		}
		return []string{"default"}
	}
	keys := sortedKeys(svc.Networks)
	sort.SliceStable(keys, func(i, j int) bool {
		return priority(svc.Networks[keys[i]]) > priority(svc.Networks[keys[j]])
	})
	return keys
}

func priority(c *types.ServiceNetworkConfig) int {
	if c == nil {
		return 0
	}
	return c.Priority
}

func (s *Stack) mount(v types.ServiceVolumeConfig) (engine.Mount, error) {
	m := engine.Mount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
	switch v.Type {
	case types.VolumeTypeVolume:
		if v.Source != "" {
			vol, ok := s.Project.Volumes[v.Source]
			if !ok {
				return m, fmt.Errorf("volume %q is not defined in the top-level volumes", v.Source)
			}
			m.Source = vol.Name
		}
	case types.VolumeTypeBind, types.VolumeTypeTmpfs:
	default:
		return m, fmt.Errorf("%s: volume type %q is not supported by cutover", v.Target, v.Type)
	}
	return m, nil
}

func restartPolicy(svc types.ServiceConfig) (engine.RestartPolicy, error) {
	r := svc.Restart
	if r == "" && svc.Deploy != nil && svc.Deploy.RestartPolicy != nil {
		rp := svc.Deploy.RestartPolicy
		switch rp.Condition {
		case "any", "":
			return engine.RestartPolicy{Name: "always"}, nil
		case "on-failure":
			p := engine.RestartPolicy{Name: "on-failure"}
			if rp.MaxAttempts != nil {
				p.MaxRetries = int(*rp.MaxAttempts)
			}
			return p, nil
		case "none":
			return engine.RestartPolicy{Name: "no"}, nil
		}
		return engine.RestartPolicy{}, fmt.Errorf("deploy.restart_policy.condition %q: want any, on-failure or none", rp.Condition)
	}
	name, max, _ := strings.Cut(r, ":")
	switch name {
	case "", "no":
		return engine.RestartPolicy{Name: "no"}, nil
	case "always", "unless-stopped":
		return engine.RestartPolicy{Name: name}, nil
	case "on-failure":
		p := engine.RestartPolicy{Name: name}
		if max != "" {
			n, err := strconv.Atoi(max)
			if err != nil {
				return p, fmt.Errorf("%q: bad retry count", r)
			}
			p.MaxRetries = n
		}
		return p, nil
	}
	return engine.RestartPolicy{}, fmt.Errorf("%q: want no, always, on-failure[:N] or unless-stopped", r)
}

func healthcheck(h *types.HealthCheckConfig) *engine.Healthcheck {
	if h == nil {
		return nil
	}
	if h.Disable {
		return &engine.Healthcheck{Test: []string{"NONE"}}
	}
	hc := &engine.Healthcheck{Test: h.Test}
	if h.Interval != nil {
		hc.Interval = time.Duration(*h.Interval)
	}
	if h.Timeout != nil {
		hc.Timeout = time.Duration(*h.Timeout)
	}
	if h.StartPeriod != nil {
		hc.StartPeriod = time.Duration(*h.StartPeriod)
	}
	if h.Retries != nil {
		hc.Retries = int(*h.Retries)
	}
	return hc
}

// configHash is a digest of the service's configuration as compose would
// run it, with the image reference it will really run (an --image override
// included). Build, scale, replicas, update config, depends_on and profiles
// do not change a container, so they are cleared first, as docker compose does.
func configHash(svc types.ServiceConfig, image string) (string, error) {
	c := svc
	c.Image = image
	c.Build = nil
	c.PullPolicy = ""
	c.Scale = nil
	c.DependsOn = nil
	c.Profiles = nil
	if c.Deploy != nil {
		d := *c.Deploy
		d.Replicas = nil
		d.UpdateConfig = nil
		d.RollbackConfig = nil
		c.Deploy = &d
		// A deploy block that held only those is no block at all: adding
		// `deploy: {replicas: 3}` to scale up must not replace containers.
		if reflect.DeepEqual(d, types.DeployConfig{}) {
			c.Deploy = nil
		}
	}
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("hashing configuration: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func dependsOnLabel(svc types.ServiceConfig) string {
	var parts []string
	for _, name := range sortedKeys(svc.DependsOn) {
		dep := svc.DependsOn[name]
		parts = append(parts, fmt.Sprintf("%s:%s:%t", name, dep.Condition, dep.Restart))
	}
	return strings.Join(parts, ",")
}

func envList(env types.MappingWithEquals) []string {
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		if v := env[k]; v != nil {
			out = append(out, k+"="+*v)
		}
	}
	return out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func pickDuration(def time.Duration, overrides ...*types.Duration) time.Duration {
	d := def
	for _, o := range overrides {
		if o != nil {
			d = time.Duration(*o)
		}
	}
	return d
}

func mergeLabels(user map[string]string, ours map[string]string) map[string]string {
	out := make(map[string]string, len(user)+len(ours))
	for k, v := range user {
		out[k] = v
	}
	for k, v := range ours {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
