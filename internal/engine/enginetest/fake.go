// Package enginetest is a small in-memory engine.Engine for fast unit tests
// of decisions (executor, undo, readiness). Behaviour that touches Docker is
// also tested against the real engine.
package enginetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/engine"
)

// Fake is an in-memory engine. Containers become running on start; their
// health follows Health (by image), and Fail makes chosen calls fail.
type Fake struct {
	mu         sync.Mutex
	now        func() time.Time
	seq        int
	containers map[string]*fakeContainer // by name
	networks   map[string]engine.Network
	volumes    map[string]engine.Volume
	images     map[string]engine.Image
	// Health maps an image reference to the health its containers report
	// once started: "" (no healthcheck), "healthy", "unhealthy", or "exit"
	// to exit at once with code 1.
	health map[string]string
	// fail maps "action name" (e.g. "start hello-web-1") to an error.
	fail map[string]error
	// Calls records every mutating call, in order, as "action target".
	calls []string
}

type fakeContainer struct {
	c    engine.Container
	spec engine.ContainerSpec
}

// New returns an empty fake engine using now as its clock (nil: time.Now).
func New(now func() time.Time) *Fake {
	if now == nil {
		now = time.Now
	}
	return &Fake{now: now, containers: map[string]*fakeContainer{}, networks: map[string]engine.Network{},
		volumes: map[string]engine.Volume{}, images: map[string]engine.Image{}, health: map[string]string{}, fail: map[string]error{}}
}

var _ engine.Engine = (*Fake)(nil)

// AddImage makes ref present locally with the given ID.
func (f *Fake) AddImage(ref, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[ref] = engine.Image{ID: id, RepoTags: []string{ref}}
}

// SetHealth sets how containers of image ref behave once started.
func (f *Fake) SetHealth(ref, health string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health[ref] = health
}

// FailOn makes the call "action target" fail with err (e.g. "create hello-web-1_new").
func (f *Fake) FailOn(call string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[call] = err
}

// Calls returns the mutating calls so far.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Container returns a container by name.
func (f *Fake) Container(name string) (engine.Container, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[name]
	if !ok {
		return engine.Container{}, false
	}
	return c.c, true
}

// UpdateContainer changes what the engine reports for a container, as if
// it had happened inside the engine: a crash, a restart, a health change,
// its network addresses. It reports whether the container exists.
func (f *Fake) UpdateContainer(name string, fn func(*engine.Container)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[name]
	if ok {
		fn(&c.c)
	}
	return ok
}

// SetNetworks sets a container's addresses: network name → IPv4 address.
func (f *Fake) SetNetworks(name string, networks map[string]string) bool {
	return f.UpdateContainer(name, func(c *engine.Container) {
		c.Networks = make(map[string]string, len(networks))
		for n, ip := range networks {
			c.Networks[n] = ip
		}
	})
}

// ContainerNames returns all container names, sorted.
func (f *Fake) ContainerNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.containers))
	for n := range f.containers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (f *Fake) record(action, target string) error {
	call := action + " " + target
	f.calls = append(f.calls, call)
	if err := f.fail[call]; err != nil {
		return err
	}
	return nil
}

// Ping answers like an API 1.41 engine.
func (f *Fake) Ping(context.Context) (engine.Info, error) {
	return engine.Info{ServerVersion: "fake", APIVersion: "1.41"}, nil
}

// ListContainers filters by labels ("" value: key must exist).
func (f *Fake) ListContainers(_ context.Context, labels map[string]string) ([]engine.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.Container
	for _, c := range f.containers {
		if matches(c.c.Labels, labels) {
			out = append(out, c.c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// InspectContainer returns a container, evaluating its health now.
func (f *Fake) InspectContainer(_ context.Context, name string) (engine.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[name]
	if !ok {
		return engine.Container{}, fmt.Errorf("container %s: %w", name, engine.ErrNotFound)
	}
	return c.c, nil
}

// CreateContainer stores a created container.
func (f *Fake) CreateContainer(_ context.Context, spec engine.ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("create", spec.Name); err != nil {
		return "", err
	}
	if _, exists := f.containers[spec.Name]; exists {
		return "", fmt.Errorf("container name %s is already in use", spec.Name)
	}
	img, ok := f.images[spec.Image]
	if !ok {
		return "", fmt.Errorf("no such image %s: %w", spec.Image, engine.ErrNotFound)
	}
	f.seq++
	id := fmt.Sprintf("c%04d", f.seq)
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	f.containers[spec.Name] = &fakeContainer{spec: spec, c: engine.Container{
		ID: id, Name: spec.Name, Image: spec.Image, ImageID: img.ID, Labels: labels, State: "created",
	}}
	return id, nil
}

// StartContainer runs a container; its health follows SetHealth.
func (f *Fake) StartContainer(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("start", name); err != nil {
		return err
	}
	c, ok := f.containers[name]
	if !ok {
		return fmt.Errorf("container %s: %w", name, engine.ErrNotFound)
	}
	c.c.State = "running"
	c.c.StartedAt = f.now()
	c.c.Health = ""
	switch f.health[c.c.Image] {
	case "healthy":
		c.c.Health = "healthy"
	case "unhealthy":
		c.c.Health = "unhealthy"
		c.c.HealthOutput = "probe failed"
	case "exit":
		c.c.State, c.c.ExitCode = "exited", 1
	}
	return nil
}

// StopContainer stops a container.
func (f *Fake) StopContainer(_ context.Context, name string, _ *time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("stop", name); err != nil {
		return err
	}
	c, ok := f.containers[name]
	if !ok {
		return fmt.Errorf("container %s: %w", name, engine.ErrNotFound)
	}
	if c.c.State == "running" {
		c.c.State, c.c.ExitCode = "exited", 0
	}
	c.c.Health = ""
	return nil
}

// RemoveContainer deletes a container.
func (f *Fake) RemoveContainer(_ context.Context, name string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("remove", name); err != nil {
		return err
	}
	if _, ok := f.containers[name]; !ok {
		return fmt.Errorf("container %s: %w", name, engine.ErrNotFound)
	}
	delete(f.containers, name)
	return nil
}

// RenameContainer renames a container.
func (f *Fake) RenameContainer(_ context.Context, name, newName string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("rename", name+" "+newName); err != nil {
		return err
	}
	c, ok := f.containers[name]
	if !ok {
		return fmt.Errorf("container %s: %w", name, engine.ErrNotFound)
	}
	if _, taken := f.containers[newName]; taken {
		return fmt.Errorf("container name %s is already in use", newName)
	}
	delete(f.containers, name)
	c.c.Name = newName
	f.containers[newName] = c
	return nil
}

// ContainerLogs returns a fixed line naming the container.
func (f *Fake) ContainerLogs(_ context.Context, name string, _ int) (string, error) {
	return "log of " + name + "\n", nil
}

// CreateNetwork creates a network unless one of that name exists.
func (f *Fake) CreateNetwork(_ context.Context, spec engine.NetworkSpec) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.networks[spec.Name]; ok {
		return false, nil
	}
	if err := f.record("create-network", spec.Name); err != nil {
		return false, err
	}
	f.networks[spec.Name] = engine.Network{ID: "n-" + spec.Name, Name: spec.Name, Labels: spec.Labels}
	return true, nil
}

// ListNetworks filters networks by labels.
func (f *Fake) ListNetworks(_ context.Context, labels map[string]string) ([]engine.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.Network
	for _, n := range f.networks {
		if matches(n.Labels, labels) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RemoveNetwork deletes a network.
func (f *Fake) RemoveNetwork(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("remove-network", name); err != nil {
		return err
	}
	if _, ok := f.networks[name]; !ok {
		return fmt.Errorf("network %s: %w", name, engine.ErrNotFound)
	}
	delete(f.networks, name)
	return nil
}

// CreateVolume creates a volume unless one of that name exists.
func (f *Fake) CreateVolume(_ context.Context, spec engine.VolumeSpec) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[spec.Name]; ok {
		return false, nil
	}
	if err := f.record("create-volume", spec.Name); err != nil {
		return false, err
	}
	f.volumes[spec.Name] = engine.Volume{Name: spec.Name, Labels: spec.Labels}
	return true, nil
}

// ListVolumes filters volumes by labels.
func (f *Fake) ListVolumes(_ context.Context, labels map[string]string) ([]engine.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.Volume
	for _, v := range f.volumes {
		if matches(v.Labels, labels) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RemoveVolume deletes a volume.
func (f *Fake) RemoveVolume(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("remove-volume", name); err != nil {
		return err
	}
	if _, ok := f.volumes[name]; !ok {
		return fmt.Errorf("volume %s: %w", name, engine.ErrNotFound)
	}
	delete(f.volumes, name)
	return nil
}

// InspectImage returns a local image.
func (f *Fake) InspectImage(_ context.Context, ref string) (engine.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[ref]
	if !ok {
		return engine.Image{}, fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
	}
	return img, nil
}

// PullImage fails unless the image was added: the fake has no registry.
func (f *Fake) PullImage(_ context.Context, ref string, _ func(engine.ImageProgress)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("pull", ref); err != nil {
		return err
	}
	if _, ok := f.images[ref]; !ok {
		return fmt.Errorf("pulling %s: pull access denied, repository does not exist", ref)
	}
	return nil
}

// BuildImage "builds" by adding an image for every tag.
func (f *Fake) BuildImage(_ context.Context, spec engine.BuildSpec, _ func(engine.ImageProgress)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("build", strings.Join(spec.Tags, ",")); err != nil {
		return err
	}
	f.seq++
	for _, t := range spec.Tags {
		f.images[t] = engine.Image{ID: fmt.Sprintf("sha256:built%04d", f.seq), RepoTags: []string{t}}
	}
	return nil
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || (v != "" && got != v) {
			return false
		}
	}
	return true
}
