package strategies

import (
	"math"
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/engine"
)

// Desired is what a release wants running: built from the compose stack by
// package compose, consumed by strategies. It holds no engine handles.
type Desired struct {
	Stack    string
	Release  int
	Networks []engine.NetworkSpec
	// ExternalNetworks and ExternalVolumes must exist; cutover never creates them.
	ExternalNetworks []string
	Volumes          []engine.VolumeSpec
	ExternalVolumes  []string
	// Services in dependency order (dependencies first).
	Services []Service
	// Routes are the routed services' entry points (router proxy).
	Routes []Route
	// Color is the color this release deploys its colored services as
	// (blue-green); "" for strategies without colors.
	Color string
	// ScaleDownDelay is how long confirming a blue-green release waits
	// before it stops the old color.
	ScaleDownDelay time.Duration
	// Canary are the weighted steps of a canary release, in order.
	Canary []CanaryStep
}

// CanaryStep sends Weight percent of new requests to the new color, then
// holds for Pause (0: until `cutover promote`).
type CanaryStep struct {
	Weight int
	Pause  time.Duration
}

// Service is one service's desired state.
type Service struct {
	Name     string
	Replicas int
	// Hash identifies the container configuration including the image ID;
	// a running container with another hash must be replaced.
	Hash string
	// Template is the container spec with Name empty and LabelNumber unset;
	// Container(n) fills both in.
	Template engine.ContainerSpec
	// FixedName is the compose container_name, when set.
	FixedName string
	// Ready says when a new container counts as ready.
	Ready ReadyPolicy
	// Update is how a rolling release replaces this service; Rollback is
	// how a rollback puts the previous containers back.
	Update   UpdatePolicy
	Rollback UpdatePolicy
	// FixedHostPorts are host ports the service publishes at a fixed
	// number: two of its containers cannot run at once.
	FixedHostPorts []string
	// LabelNumber is the label that carries the replica number.
	LabelNumber string
	// NamePrefix + n is the container name of replica n ("hello-web-").
	NamePrefix string
	// Shared services run once, in the stack's own project, for both
	// colors (a database with a named volume); the others are colored.
	Shared bool
	// Verify, when set, must pass on every new container of a blue-green
	// release before traffic switches to it.
	Verify *Verify `json:",omitempty"`
	// Project is the compose project the service's containers belong to:
	// the stack, or <stack>-<color> for colored services in blue-green.
	Project string
}

// BatchAll is the batch size of compose's "parallelism: 0": every
// container of the service at once.
const BatchAll = math.MaxInt

// UpdatePolicy is compose's deploy.update_config, resolved.
type UpdatePolicy struct {
	// BatchSize is how many containers are replaced at a time; BatchAll
	// (compose's parallelism 0) replaces them all in one batch.
	BatchSize int
	Interval  time.Duration
	// Order is start-first or stop-first.
	Order string
	// FailureAction is rollback, pause or continue.
	FailureAction   string
	Monitor         time.Duration
	MaxFailureRatio float64
	// AllowStopFirst permits falling back to stop-first when start-first
	// is impossible (a fixed published host port).
	AllowStopFirst bool
}

// MaxFailures is how many failed containers of replicas are tolerated
// before FailureAction applies: floor(ratio × replicas). The product is
// nudged up by far less than one container first, because it is computed in
// binary floating point: 0.29 × 100 is 28.999999999999996, which must
// tolerate 29 failures, not 28.
func (p UpdatePolicy) MaxFailures(replicas int) int {
	return int(math.Floor(p.MaxFailureRatio*float64(replicas) + 1e-9))
}

// Verify is x-cutover.verify: an HTTP GET of Path on a container's route
// port (2xx passes) and/or a host command run with CUTOVER_TARGET set to
// http://<container address>, each bounded by Timeout.
type Verify struct {
	Path    string `json:",omitempty"`
	Command string `json:",omitempty"`
	Timeout time.Duration
}

// ReadyPolicy tells the executor when a container is ready.
type ReadyPolicy struct {
	// HealthTimeout bounds the wait for a container to become ready.
	HealthTimeout time.Duration
	// MinReady is how long a container without a healthcheck must run
	// without restarting to count as ready.
	MinReady time.Duration
	// Probe, when set, is an HTTP check cutover runs itself every few tens
	// of milliseconds: a 2xx answer makes the container ready (a Docker
	// healthcheck reporting unhealthy still fails it).
	Probe *HTTPProbe `json:",omitempty"`
}

// HTTPProbe is GET http://<container IP>:Port<Path>.
type HTTPProbe struct {
	Port int
	Path string
}

// ContainerName returns the name of replica n.
func (s Service) ContainerName(n int) string {
	if s.FixedName != "" {
		return s.FixedName
	}
	return s.NamePrefix + strconv.Itoa(n)
}

// Container returns the spec of replica n.
func (s Service) Container(n int) engine.ContainerSpec {
	spec := s.Template
	spec.Name = s.ContainerName(n)
	spec.Labels = make(map[string]string, len(s.Template.Labels)+1)
	for k, v := range s.Template.Labels {
		spec.Labels[k] = v
	}
	if s.LabelNumber != "" {
		spec.Labels[s.LabelNumber] = strconv.Itoa(n)
	}
	return spec
}
