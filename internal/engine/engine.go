// Package engine is cutover's narrow view of a container engine. Everything
// cutover does to Docker goes through the Engine interface, so strategies and
// the executor can be tested against a small fake and the real engine alike.
package engine

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) when a container, network, volume or
// image does not exist.
var ErrNotFound = errors.New("not found")

// Engine is the set of container-engine operations cutover needs.
type Engine interface {
	// Ping checks that the engine answers and reports its negotiated API version.
	Ping(ctx context.Context) (Info, error)

	ListContainers(ctx context.Context, labels map[string]string) ([]Container, error)
	InspectContainer(ctx context.Context, nameOrID string) (Container, error)
	// CreateContainer creates (does not start) a container and attaches it to
	// every network in spec.Networks. It returns the container ID.
	CreateContainer(ctx context.Context, spec ContainerSpec) (string, error)
	StartContainer(ctx context.Context, nameOrID string) error
	// StopContainer stops gracefully; a nil timeout uses the container's own.
	StopContainer(ctx context.Context, nameOrID string, timeout *time.Duration) error
	RemoveContainer(ctx context.Context, nameOrID string, removeAnonymousVolumes bool) error
	RenameContainer(ctx context.Context, nameOrID, newName string) error
	// ContainerLogs returns the last tail lines of stdout and stderr.
	ContainerLogs(ctx context.Context, nameOrID string, tail int) (string, error)

	// CreateNetwork creates a network; it does nothing and reports false
	// when a network of that name already exists.
	CreateNetwork(ctx context.Context, spec NetworkSpec) (created bool, err error)
	ListNetworks(ctx context.Context, labels map[string]string) ([]Network, error)
	RemoveNetwork(ctx context.Context, name string) error

	// CreateVolume creates a named volume; it reports false when it exists.
	CreateVolume(ctx context.Context, spec VolumeSpec) (created bool, err error)
	ListVolumes(ctx context.Context, labels map[string]string) ([]Volume, error)
	RemoveVolume(ctx context.Context, name string) error

	// InspectImage returns a local image; the error wraps ErrNotFound when absent.
	InspectImage(ctx context.Context, ref string) (Image, error)
	// PullImage pulls ref, reporting progress; errors sent mid-stream fail the pull.
	PullImage(ctx context.Context, ref string, progress func(ImageProgress)) error
	// BuildImage builds an image from a context directory through the Engine API.
	BuildImage(ctx context.Context, spec BuildSpec, progress func(ImageProgress)) error
}

// Info describes the engine cutover talks to.
type Info struct {
	ServerVersion string
	APIVersion    string
}

// Container is an observed container.
type Container struct {
	ID      string
	Name    string
	Image   string // the reference it was created from
	ImageID string
	Labels  map[string]string
	// State is Docker's: created, running, paused, restarting, exited, dead.
	State string
	// Health is "", "starting", "healthy" or "unhealthy".
	Health string
	// HealthOutput is the output of the last health probe, when there is one.
	HealthOutput string
	ExitCode     int
	RestartCount int
	StartedAt    time.Time
	FinishedAt   time.Time
	// Networks maps network name to the container's IPv4 address on it.
	Networks map[string]string
}

// Running reports whether the container's main process is up.
func (c Container) Running() bool { return c.State == "running" }

// ContainerSpec is everything cutover sets on a new container.
type ContainerSpec struct {
	Name        string
	Image       string
	Command     []string // nil: the image's CMD
	Entrypoint  []string // nil: the image's ENTRYPOINT
	Env         []string // KEY=VALUE
	Labels      map[string]string
	WorkingDir  string
	User        string
	Hostname    string
	Healthcheck *Healthcheck
	Restart     RestartPolicy
	StopSignal  string
	StopTimeout *time.Duration
	Ports       []PortBinding
	// Networks: the first is used at create, the others are connected
	// afterwards (API 1.41 refuses several networks at create).
	Networks   []NetworkAttachment
	Mounts     []Mount
	ExtraHosts []string
	Init       *bool
	Tty        bool
	StdinOpen  bool
	ReadOnly   bool
	Privileged bool
	CapAdd     []string
	CapDrop    []string
	Sysctls    map[string]string
	Tmpfs      map[string]string
	// NetworkMode is "host", "none" or "container:<id>"; "" means Networks.
	NetworkMode string
	DNS         []string
	SecurityOpt []string
	LogDriver   string
	LogOptions  map[string]string
	MemoryBytes int64
	NanoCPUs    int64
}

// Healthcheck mirrors Docker's HEALTHCHECK. Test is in Docker's form:
// ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"].
type Healthcheck struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// RestartPolicy is Docker's restart policy ("no", "always", "on-failure",
// "unless-stopped").
type RestartPolicy struct {
	Name       string
	MaxRetries int
}

// PortBinding publishes a container port on the host.
type PortBinding struct {
	ContainerPort uint32
	Protocol      string // tcp (default), udp
	HostIP        string
	HostPort      string // "" lets the engine choose
}

// NetworkAttachment attaches a container to a network with DNS aliases.
type NetworkAttachment struct {
	Network     string
	Aliases     []string
	IPv4Address string
}

// Mount is a volume, bind or tmpfs mount.
type Mount struct {
	Type     string // volume, bind, tmpfs
	Source   string
	Target   string
	ReadOnly bool
}

// Network is an observed network.
type Network struct {
	ID     string
	Name   string
	Labels map[string]string
}

// NetworkSpec describes a network to create.
type NetworkSpec struct {
	Name       string
	Driver     string
	Labels     map[string]string
	Internal   bool
	Attachable bool
	Options    map[string]string
}

// Volume is an observed named volume.
type Volume struct {
	Name   string
	Labels map[string]string
}

// VolumeSpec describes a named volume to create.
type VolumeSpec struct {
	Name    string
	Driver  string
	Labels  map[string]string
	Options map[string]string
}

// Image is a local image.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
	Created     time.Time
}

// BuildSpec describes an image build from a local context directory.
type BuildSpec struct {
	ContextDir string
	Dockerfile string // relative to ContextDir; "" means Dockerfile
	Args       map[string]*string
	Target     string
	Tags       []string
	Labels     map[string]string
	NoCache    bool
}

// ImageProgress is one progress message of a pull or build.
type ImageProgress struct {
	ID      string // layer ID for pulls, "" for build output
	Status  string
	Current int64
	Total   int64
}
