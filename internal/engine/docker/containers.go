package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/cutover/cutover/internal/engine"
)

// labelFilters turns a label selector into Engine API filters: every
// key=value must match; an empty value only requires the key.
func labelFilters(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	return f
}

// ListContainers returns all containers, running or not, whose labels match
// every key=value of labels (a "" value only requires the key), sorted by
// name.
func (e *Engine) ListContainers(ctx context.Context, labels map[string]string) ([]engine.Container, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilters(labels)})
	if err != nil {
		return nil, wrap(err, "listing containers")
	}
	out := make([]engine.Container, 0, len(list))
	for _, s := range list {
		info, err := e.cli.ContainerInspect(ctx, s.ID)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				continue // removed between list and inspect
			}
			return nil, wrap(err, "inspecting container %s", summaryName(s))
		}
		out = append(out, toContainer(info))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func summaryName(s container.Summary) string {
	if len(s.Names) > 0 {
		return strings.TrimPrefix(s.Names[0], "/")
	}
	return s.ID
}

// InspectContainer returns one container; the error wraps engine.ErrNotFound
// when it does not exist.
func (e *Engine) InspectContainer(ctx context.Context, nameOrID string) (engine.Container, error) {
	info, err := e.cli.ContainerInspect(ctx, nameOrID)
	if err != nil {
		return engine.Container{}, wrap(err, "inspecting container %s", nameOrID)
	}
	return toContainer(info), nil
}

func toContainer(info container.InspectResponse) engine.Container {
	var c engine.Container
	if b := info.ContainerJSONBase; b != nil {
		c.ID = b.ID
		c.Name = strings.TrimPrefix(b.Name, "/")
		c.ImageID = b.Image
		c.RestartCount = b.RestartCount
		if st := b.State; st != nil {
			c.State = string(st.Status)
			c.ExitCode = st.ExitCode
			c.StartedAt = parseTime(st.StartedAt)
			c.FinishedAt = parseTime(st.FinishedAt)
			if st.Health != nil {
				c.Health = string(st.Health.Status)
				if n := len(st.Health.Log); n > 0 && st.Health.Log[n-1] != nil {
					c.HealthOutput = strings.TrimSpace(st.Health.Log[n-1].Output)
				}
			}
		}
	}
	if cfg := info.Config; cfg != nil {
		c.Image = cfg.Image
		c.Labels = cfg.Labels
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Networks = map[string]string{}
	if ns := info.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			ip := ""
			if ep != nil {
				ip = ep.IPAddress
			}
			c.Networks[name] = ip
		}
	}
	return c
}

// containerLabel names a container in error messages.
func containerLabel(spec engine.ContainerSpec) string {
	if spec.Name != "" {
		return spec.Name
	}
	return "from " + spec.Image
}

// CreateContainer creates (does not start) a container. The Engine API
// before 1.44 accepts a single network at create, so the container is
// created on the first of spec.Networks and connected to the others
// afterwards; if that fails the half-made container is removed.
func (e *Engine) CreateContainer(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	what := containerLabel(spec)
	cfg, hostCfg, netCfg, err := containerConfig(spec)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", what, err)
	}
	// The engine accepts creating a container on, or connecting a stopped
	// one to, a network that does not exist, and fails only at start: check
	// them all first.
	for _, att := range spec.Networks {
		if _, err := e.cli.NetworkInspect(ctx, att.Network, network.InspectOptions{}); err != nil {
			return "", wrap(err, "creating container %s: network %s", what, att.Network)
		}
	}
	resp, err := e.cli.ContainerCreate(ctx, cfg, hostCfg, netCfg, nil, spec.Name)
	if err != nil {
		return "", wrap(err, "creating container %s", what)
	}
	if len(spec.Networks) > 1 {
		for _, att := range spec.Networks[1:] {
			if err := e.cli.NetworkConnect(ctx, att.Network, resp.ID, endpointSettings(att)); err != nil {
				err = wrap(err, "creating container %s: connecting it to network %s", what, att.Network)
				// Do not leave a half-attached container behind, even if ctx
				// was cancelled.
				rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				rmErr := e.cli.ContainerRemove(rmCtx, resp.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
				cancel()
				if rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
					err = errors.Join(err, fmt.Errorf("removing the half-created container %s: %w", what, rmErr))
				}
				return "", err
			}
		}
	}
	return resp.ID, nil
}

func endpointSettings(att engine.NetworkAttachment) *network.EndpointSettings {
	ep := &network.EndpointSettings{Aliases: att.Aliases}
	if att.IPv4Address != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: att.IPv4Address}
	}
	return ep
}

// containerConfig maps a ContainerSpec onto the Engine API's create request.
func containerConfig(spec engine.ContainerSpec) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	cfg := &container.Config{
		Hostname:   spec.Hostname,
		User:       spec.User,
		Tty:        spec.Tty,
		OpenStdin:  spec.StdinOpen,
		Env:        spec.Env,
		Cmd:        spec.Command,
		Image:      spec.Image,
		WorkingDir: spec.WorkingDir,
		Entrypoint: spec.Entrypoint,
		Labels:     spec.Labels,
		StopSignal: spec.StopSignal,
	}
	if spec.StopTimeout != nil {
		s := seconds(*spec.StopTimeout)
		cfg.StopTimeout = &s
	}
	if hc := spec.Healthcheck; hc != nil {
		// StartInterval is left out: API < 1.44 refuses it.
		cfg.Healthcheck = &container.HealthConfig{
			Test:        hc.Test,
			Interval:    hc.Interval,
			Timeout:     hc.Timeout,
			StartPeriod: hc.StartPeriod,
			Retries:     hc.Retries,
		}
	}

	hostCfg := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{
			Name:              container.RestartPolicyMode(spec.Restart.Name),
			MaximumRetryCount: spec.Restart.MaxRetries,
		},
		ExtraHosts:     spec.ExtraHosts,
		Init:           spec.Init,
		ReadonlyRootfs: spec.ReadOnly,
		Privileged:     spec.Privileged,
		CapAdd:         spec.CapAdd,
		CapDrop:        spec.CapDrop,
		Sysctls:        spec.Sysctls,
		Tmpfs:          spec.Tmpfs,
		DNS:            spec.DNS,
		SecurityOpt:    spec.SecurityOpt,
		LogConfig:      container.LogConfig{Type: spec.LogDriver, Config: spec.LogOptions},
		Resources:      container.Resources{Memory: spec.MemoryBytes, NanoCPUs: spec.NanoCPUs},
	}
	if spec.NetworkMode != "" {
		if len(spec.Networks) > 0 {
			return nil, nil, nil, fmt.Errorf("network mode %q and networks %v are exclusive", spec.NetworkMode, spec.Networks)
		}
		hostCfg.NetworkMode = container.NetworkMode(spec.NetworkMode)
	}

	if len(spec.Ports) > 0 {
		cfg.ExposedPorts = nat.PortSet{}
		hostCfg.PortBindings = nat.PortMap{}
		for _, p := range spec.Ports {
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			port, err := nat.NewPort(proto, strconv.FormatUint(uint64(p.ContainerPort), 10))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("port %d/%s: %w", p.ContainerPort, proto, err)
			}
			cfg.ExposedPorts[port] = struct{}{}
			hostCfg.PortBindings[port] = append(hostCfg.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: p.HostPort})
		}
	}

	for _, m := range spec.Mounts {
		hostCfg.Mounts = append(hostCfg.Mounts, mount.Mount{
			Type:     mount.Type(m.Type),
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}

	var netCfg *network.NetworkingConfig
	if len(spec.Networks) > 0 {
		first := spec.Networks[0]
		if first.Network == "" {
			return nil, nil, nil, errors.New("network attachment without a network name")
		}
		hostCfg.NetworkMode = container.NetworkMode(first.Network)
		netCfg = &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{first.Network: endpointSettings(first)},
		}
	}
	return cfg, hostCfg, netCfg, nil
}

// StartContainer starts a created or stopped container.
func (e *Engine) StartContainer(ctx context.Context, nameOrID string) error {
	return wrap(e.cli.ContainerStart(ctx, nameOrID, container.StartOptions{}), "starting container %s", nameOrID)
}

// StopContainer stops a container gracefully, killing it after timeout (nil:
// the container's own stop timeout). Stopping a stopped container is not an
// error.
func (e *Engine) StopContainer(ctx context.Context, nameOrID string, timeout *time.Duration) error {
	var opts container.StopOptions
	if timeout != nil {
		s := seconds(*timeout)
		opts.Timeout = &s
	}
	// The engine answers 304 Not Modified for a stopped container, which the
	// client reports as success.
	return wrap(e.cli.ContainerStop(ctx, nameOrID, opts), "stopping container %s", nameOrID)
}

// RemoveContainer force-removes a container (killing it if running),
// optionally with its anonymous volumes. A missing container is an error
// wrapping engine.ErrNotFound.
func (e *Engine) RemoveContainer(ctx context.Context, nameOrID string, removeAnonymousVolumes bool) error {
	err := e.cli.ContainerRemove(ctx, nameOrID, container.RemoveOptions{Force: true, RemoveVolumes: removeAnonymousVolumes})
	return wrap(err, "removing container %s", nameOrID)
}

// RenameContainer renames a container.
func (e *Engine) RenameContainer(ctx context.Context, nameOrID, newName string) error {
	return wrap(e.cli.ContainerRename(ctx, nameOrID, newName), "renaming container %s to %s", nameOrID, newName)
}

// ContainerLogs returns the last tail lines of the container's stdout and
// stderr, interleaved; tail <= 0 returns all of them.
func (e *Engine) ContainerLogs(ctx context.Context, nameOrID string, tail int) (string, error) {
	info, err := e.cli.ContainerInspect(ctx, nameOrID)
	if err != nil {
		return "", wrap(err, "reading logs of container %s", nameOrID)
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "all"}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := e.cli.ContainerLogs(ctx, nameOrID, opts)
	if err != nil {
		return "", wrap(err, "reading logs of container %s", nameOrID)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil {
		return buf.String(), wrap(err, "reading logs of container %s", nameOrID)
	}
	return buf.String(), nil
}
