package compose

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/internal/watch"
)

// ExtensionKey is the compose extension cutover reads, at stack and service level.
const ExtensionKey = "x-cutover"

// Strategy names known to cutover.
const (
	StrategyRecreate  = "recreate"
	StrategyRolling   = "rolling"
	StrategyBlueGreen = "bluegreen"
	StrategyCanary    = "canary"
)

// Router names known to cutover.
const (
	RouterProxy = "proxy"
	RouterNginx = "nginx"
	RouterDNS   = "dns"
	RouterNone  = "none"
)

// Update orders and failure actions (compose's deploy.update_config words).
const (
	OrderStartFirst = "start-first"
	OrderStopFirst  = "stop-first"
	FailureRollback = "rollback"
	FailurePause    = "pause"
	FailureContinue = "continue"
)

// Defaults used when neither flags nor x-cutover say otherwise.
const (
	DefaultStrategy      = StrategyRecreate
	DefaultHealthTimeout = 2 * time.Minute
	DefaultMinReady      = 2 * time.Second
	// Rolling defaults: cutover rolls start-first one container at a time,
	// watches new containers for 5 s and rolls back on any failure
	// (swarm's defaults are stop-first and pause).
	DefaultBatchSize     = 1
	DefaultOrder         = OrderStartFirst
	DefaultFailureAction = FailureRollback
	DefaultMonitor       = 5 * time.Second
)

// StackExtension is the stack-level `x-cutover` block.
type StackExtension struct {
	Strategy      string          `yaml:"strategy,omitempty" json:"strategy,omitempty"`
	Router        string          `yaml:"router,omitempty" json:"router,omitempty"`
	AutoConfirm   *types.Duration `yaml:"auto_confirm,omitempty" json:"auto_confirm,omitempty"`
	HealthTimeout *types.Duration `yaml:"health_timeout,omitempty" json:"health_timeout,omitempty"`
	MinReady      *types.Duration `yaml:"min_ready,omitempty" json:"min_ready,omitempty"`
	Notify        *Notify         `yaml:"notify,omitempty" json:"notify,omitempty"`
	// Hooks names the environment variables holding this stack's own
	// webhook secrets (cutover serve --hooks-listen).
	Hooks   *Hooks   `yaml:"hooks,omitempty" json:"hooks,omitempty"`
	Rolling *Rolling `yaml:"rolling,omitempty" json:"rolling,omitempty"`
	// ScaleDownDelay is how long confirm waits before it stops the old
	// color in blue-green (default 0).
	ScaleDownDelay *types.Duration `yaml:"scale_down_delay,omitempty" json:"scale_down_delay,omitempty"`
	// Canary holds the weighted steps of the canary strategy.
	Canary *Canary `yaml:"canary,omitempty" json:"canary,omitempty"`
	// Nginx says how router nginx reaches the host's nginx.
	Nginx *NginxSettings `yaml:"nginx,omitempty" json:"nginx,omitempty"`
	// DNS says which DNS server router dns drives and how.
	DNS *DNSSettings `yaml:"dns,omitempty" json:"dns,omitempty"`
}

// Canary is the canary strategy's steps and stickiness.
type Canary struct {
	Steps  []CanaryStep `yaml:"steps,omitempty" json:"steps,omitempty"`
	Sticky *Sticky      `yaml:"sticky,omitempty" json:"sticky,omitempty"`
}

// CanaryStep sends Weight percent of new requests to the new version, then
// holds for Pause; without a pause it holds until `cutover promote`.
type CanaryStep struct {
	Weight int             `yaml:"weight" json:"weight"`
	Pause  *types.Duration `yaml:"pause,omitempty" json:"pause,omitempty"`
}

// Sticky keeps a client on one version during a canary: by a cookie the
// proxy sets, or by the value of a request header.
type Sticky struct {
	Cookie string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
}

// Rolling holds stack-wide defaults for rolling updates; a service's compose
// deploy.update_config overrides them, and CLI flags override both.
type Rolling struct {
	BatchSize       *int            `yaml:"batch_size,omitempty" json:"batch_size,omitempty"`
	Interval        *types.Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	Order           string          `yaml:"order,omitempty" json:"order,omitempty"`
	FailureAction   string          `yaml:"failure_action,omitempty" json:"failure_action,omitempty"`
	Monitor         *types.Duration `yaml:"monitor,omitempty" json:"monitor,omitempty"`
	MaxFailureRatio *float64        `yaml:"max_failure_ratio,omitempty" json:"max_failure_ratio,omitempty"`
	// AllowStopFirst lets a service that publishes a fixed host port roll
	// stop-first when start-first is asked for but impossible.
	AllowStopFirst bool `yaml:"allow_stop_first,omitempty" json:"allow_stop_first,omitempty"`
}

// ServiceExtension is a service's `x-cutover` block.
type ServiceExtension struct {
	Route         *Route          `yaml:"route,omitempty" json:"route,omitempty"`
	Verify        *Verify         `yaml:"verify,omitempty" json:"verify,omitempty"`
	Watch         *Watch          `yaml:"watch,omitempty" json:"watch,omitempty"`
	Shared        bool            `yaml:"shared,omitempty" json:"shared,omitempty"`
	HealthTimeout *types.Duration `yaml:"health_timeout,omitempty" json:"health_timeout,omitempty"`
	MinReady      *types.Duration `yaml:"min_ready,omitempty" json:"min_ready,omitempty"`
}

// Route is a service's entry point for a router.
type Route struct {
	Port   int    `yaml:"port,omitempty" json:"port,omitempty"`
	Health string `yaml:"health,omitempty" json:"health,omitempty"`
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	Host   string `yaml:"host,omitempty" json:"host,omitempty"`
	// DrainTimeout bounds how long a target leaving the route may finish
	// its in-flight requests (default 30s).
	DrainTimeout *types.Duration `yaml:"drain_timeout,omitempty" json:"drain_timeout,omitempty"`
	// Addresses are, under router dns, the host address each color
	// publishes the service's ports on: {blue: IP, green: IP}.
	Addresses map[string]string `yaml:"addresses,omitempty" json:"addresses,omitempty"`
}

// Verify is a check a new color must pass before traffic switches to it:
// an HTTP GET of a path on each new container, a command run on the host
// with CUTOVER_TARGET=http://<container address>, or both.
type Verify struct {
	HTTP    string          `yaml:"http,omitempty" json:"http,omitempty"`
	Command string          `yaml:"command,omitempty" json:"command,omitempty"`
	Timeout *types.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Watch says which pushed tags redeploy a service.
type Watch struct {
	Tags string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// knownKeys lists the keys each x-cutover block accepts, for the unknown-key
// check that runs on the raw files (compose-go's decoding ignores them).
func knownKeys(block string) []string {
	switch block {
	case "stack":
		return []string{"strategy", "router", "auto_confirm", "health_timeout", "min_ready", "notify", "hooks", "rolling", "scale_down_delay", "canary", "nginx", "dns"}
	case "nginx":
		return nginxKeys()
	case "dns":
		return dnsKeys()
	case "canary":
		return []string{"steps", "sticky"}
	case "step":
		return []string{"weight", "pause"}
	case "sticky":
		return []string{"cookie", "header"}
	case "rolling":
		return []string{"batch_size", "interval", "order", "failure_action", "monitor", "max_failure_ratio", "allow_stop_first"}
	case "notify":
		return []string{"on", "slack", "webhook", "email"}
	case "slack":
		return []string{"url", "url_env", "on"}
	case "webhook":
		return []string{"url", "url_env", "secret_env", "on"}
	case "email":
		return []string{"to", "from", "smtp", "username", "password_env", "tls", "on"}
	case "hooks":
		return hooksKeys()
	case "service":
		return []string{"route", "verify", "watch", "shared", "health_timeout", "min_ready"}
	case "verify":
		return []string{"http", "command", "timeout"}
	case "route":
		return []string{"port", "health", "listen", "host", "drain_timeout", "addresses"}
	case "addresses":
		return []string{"blue", "green"}
	case "watch":
		return []string{"tags"}
	}
	return nil
}

// Validate checks the stack block; path prefixes field names in errors.
func (e StackExtension) Validate(path string) error {
	if e.Strategy != "" && !oneOf(e.Strategy, StrategyRecreate, StrategyRolling, StrategyBlueGreen, StrategyCanary) {
		return fmt.Errorf("%s.strategy: unknown strategy %q (known: recreate, rolling, bluegreen, canary)", path, e.Strategy)
	}
	if e.Router != "" && !oneOf(e.Router, RouterProxy, RouterNginx, RouterDNS, RouterNone) {
		return fmt.Errorf("%s.router: unknown router %q (known: proxy, nginx, dns, none)", path, e.Router)
	}
	for name, d := range map[string]*types.Duration{"auto_confirm": e.AutoConfirm, "health_timeout": e.HealthTimeout, "min_ready": e.MinReady, "scale_down_delay": e.ScaleDownDelay} {
		if d != nil && *d < 0 {
			return fmt.Errorf("%s.%s: must not be negative, got %s", path, name, time.Duration(*d))
		}
	}
	if c := e.Canary; c != nil {
		if err := c.validate(path + ".canary"); err != nil {
			return err
		}
	}
	if n := e.Nginx; n != nil {
		if err := n.validate(path + ".nginx"); err != nil {
			return err
		}
	}
	if d := e.DNS; d != nil {
		if err := d.validate(path + ".dns"); err != nil {
			return err
		}
	}
	if n := e.Notify; n != nil {
		if err := n.Validate(path + ".notify"); err != nil {
			return err
		}
	}
	if h := e.Hooks; h != nil {
		if err := h.validate(path + ".hooks"); err != nil {
			return err
		}
	}
	if r := e.Rolling; r != nil {
		p := path + ".rolling"
		if r.BatchSize != nil && *r.BatchSize < 1 {
			return fmt.Errorf("%s.batch_size: must be at least 1, got %d", p, *r.BatchSize)
		}
		if err := ValidateOrder(r.Order); err != nil {
			return fmt.Errorf("%s.order: %w", p, err)
		}
		if err := ValidateFailureAction(r.FailureAction); err != nil {
			return fmt.Errorf("%s.failure_action: %w", p, err)
		}
		if r.MaxFailureRatio != nil && (*r.MaxFailureRatio < 0 || *r.MaxFailureRatio > 1) {
			return fmt.Errorf("%s.max_failure_ratio: must be between 0 and 1, got %g", p, *r.MaxFailureRatio)
		}
		for name, d := range map[string]*types.Duration{"interval": r.Interval, "monitor": r.Monitor} {
			if d != nil && *d < 0 {
				return fmt.Errorf("%s.%s: must not be negative, got %s", p, name, time.Duration(*d))
			}
		}
	}
	return nil
}

// ValidateOrder checks an update order ("" means the default).
func ValidateOrder(order string) error {
	if order != "" && order != OrderStartFirst && order != OrderStopFirst {
		return fmt.Errorf("unknown order %q (known: start-first, stop-first)", order)
	}
	return nil
}

// ValidateFailureAction checks a failure action ("" means the default).
func ValidateFailureAction(action string) error {
	if action != "" && !oneOf(action, FailureRollback, FailurePause, FailureContinue) {
		return fmt.Errorf("unknown failure action %q (known: rollback, pause, continue)", action)
	}
	return nil
}

// Validate checks a service block; path prefixes field names in errors.
func (e ServiceExtension) Validate(path string) error {
	if r := e.Route; r != nil {
		if r.Port < 0 || r.Port > 65535 {
			return fmt.Errorf("%s.route.port: %d is not a port number (1-65535)", path, r.Port)
		}
		if r.Health != "" && !strings.HasPrefix(r.Health, "/") {
			return fmt.Errorf("%s.route.health: %q must be an HTTP path starting with /", path, r.Health)
		}
		if r.Listen != "" {
			if _, port, err := net.SplitHostPort(r.Listen); err != nil || port == "" {
				return fmt.Errorf("%s.route.listen: %q is not an address like 127.0.0.1:8080 or :8080", path, r.Listen)
			}
		}
		if r.DrainTimeout != nil && *r.DrainTimeout < 0 {
			return fmt.Errorf("%s.route.drain_timeout: must not be negative, got %s", path, time.Duration(*r.DrainTimeout))
		}
		if err := validateAddresses(path+".route.addresses", r.Addresses); err != nil {
			return err
		}
	}
	if v := e.Verify; v != nil {
		if v.HTTP == "" && v.Command == "" {
			return fmt.Errorf("%s.verify: set http (a path) or command", path)
		}
		if v.HTTP != "" && !strings.HasPrefix(v.HTTP, "/") {
			return fmt.Errorf("%s.verify.http: %q must be an HTTP path starting with /", path, v.HTTP)
		}
		if v.Timeout != nil && *v.Timeout <= 0 {
			return fmt.Errorf("%s.verify.timeout: must be positive, got %s", path, time.Duration(*v.Timeout))
		}
	}
	if w := e.Watch; w != nil {
		if _, err := watch.Parse(w.Tags); err != nil {
			// err reads `watch.tags "<spec>": …`
			return fmt.Errorf("%s.%w", path, err)
		}
	}
	for name, d := range map[string]*types.Duration{"health_timeout": e.HealthTimeout, "min_ready": e.MinReady} {
		if d != nil && *d < 0 {
			return fmt.Errorf("%s.%s: must not be negative, got %s", path, name, time.Duration(*d))
		}
	}
	return nil
}

// WatchPolicy is the service's parsed watch policy: exact (its own tag)
// when the block is absent. Load has validated it.
func (e ServiceExtension) WatchPolicy() watch.Policy {
	if e.Watch == nil {
		return watch.Policy{}
	}
	p, err := watch.Parse(e.Watch.Tags)
	if err != nil {
		return watch.Policy{}
	}
	return p
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func (c Canary) validate(path string) error {
	if len(c.Steps) == 0 {
		return fmt.Errorf("%s.steps: give at least one step, e.g. [{weight: 10, pause: 1m}]", path)
	}
	for i, st := range c.Steps {
		p := fmt.Sprintf("%s.steps[%d]", path, i)
		if st.Weight < 1 || st.Weight > 100 {
			return fmt.Errorf("%s.weight: %d is not a percentage of traffic (1-100)", p, st.Weight)
		}
		if i > 0 && st.Weight < c.Steps[i-1].Weight {
			return fmt.Errorf("%s.weight: %d is below the step before (%d): weights only grow", p, st.Weight, c.Steps[i-1].Weight)
		}
		if st.Pause != nil && *st.Pause < 0 {
			return fmt.Errorf("%s.pause: must not be negative, got %s", p, time.Duration(*st.Pause))
		}
	}
	if s := c.Sticky; s != nil && (s.Cookie == "") == (s.Header == "") {
		return fmt.Errorf("%s.sticky: set either cookie (a cookie name) or header (a request header), not both or neither", path)
	}
	return nil
}
