package docker

import (
	"context"
	"sort"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/cutover/cutover/internal/engine"
)

// CreateNetwork creates a network unless one with exactly that name exists,
// in which case it reports false and changes nothing.
func (e *Engine) CreateNetwork(ctx context.Context, spec engine.NetworkSpec) (bool, error) {
	exists, err := e.networkExists(ctx, spec.Name)
	if err != nil {
		return false, err
	}
	if exists {
		return false, nil
	}
	_, err = e.cli.NetworkCreate(ctx, spec.Name, network.CreateOptions{
		Driver:     spec.Driver,
		Labels:     spec.Labels,
		Internal:   spec.Internal,
		Attachable: spec.Attachable,
		Options:    spec.Options,
	})
	if err != nil {
		// Lost a race with someone creating the same network.
		if cerrdefs.IsConflict(err) {
			if exists, lerr := e.networkExists(ctx, spec.Name); lerr == nil && exists {
				return false, nil
			}
		}
		return false, wrap(err, "creating network %s", spec.Name)
	}
	return true, nil
}

// networkExists reports whether a network has exactly this name (the
// engine's name filter matches substrings).
func (e *Engine) networkExists(ctx context.Context, name string) (bool, error) {
	list, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return false, wrap(err, "looking up network %s", name)
	}
	for _, n := range list {
		if n.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// ListNetworks returns the networks whose labels match every key=value of
// labels (a "" value only requires the key), sorted by name.
func (e *Engine) ListNetworks(ctx context.Context, labels map[string]string) ([]engine.Network, error) {
	list, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: labelFilters(labels)})
	if err != nil {
		return nil, wrap(err, "listing networks")
	}
	out := make([]engine.Network, 0, len(list))
	for _, n := range list {
		l := n.Labels
		if l == nil {
			l = map[string]string{}
		}
		out = append(out, engine.Network{ID: n.ID, Name: n.Name, Labels: l})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RemoveNetwork removes a network; a missing one is an error wrapping
// engine.ErrNotFound.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	return wrap(e.cli.NetworkRemove(ctx, name), "removing network %s", name)
}

// CreateVolume creates a named volume unless it exists, in which case it
// reports false and changes nothing.
func (e *Engine) CreateVolume(ctx context.Context, spec engine.VolumeSpec) (bool, error) {
	_, err := e.cli.VolumeInspect(ctx, spec.Name)
	if err == nil {
		return false, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return false, wrap(err, "looking up volume %s", spec.Name)
	}
	_, err = e.cli.VolumeCreate(ctx, volume.CreateOptions{
		Name:       spec.Name,
		Driver:     spec.Driver,
		DriverOpts: spec.Options,
		Labels:     spec.Labels,
	})
	if err != nil {
		return false, wrap(err, "creating volume %s", spec.Name)
	}
	return true, nil
}

// ListVolumes returns the volumes whose labels match every key=value of
// labels (a "" value only requires the key), sorted by name.
func (e *Engine) ListVolumes(ctx context.Context, labels map[string]string) ([]engine.Volume, error) {
	resp, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: labelFilters(labels)})
	if err != nil {
		return nil, wrap(err, "listing volumes")
	}
	out := make([]engine.Volume, 0, len(resp.Volumes))
	for _, v := range resp.Volumes {
		if v == nil {
			continue
		}
		l := v.Labels
		if l == nil {
			l = map[string]string{}
		}
		out = append(out, engine.Volume{Name: v.Name, Labels: l})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RemoveVolume removes a volume (not forced: a volume in use is an error);
// a missing one is an error wrapping engine.ErrNotFound.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	return wrap(e.cli.VolumeRemove(ctx, name, false), "removing volume %s", name)
}
