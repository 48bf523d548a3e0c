package nginx

import (
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/cutover/cutover/lb"
)

// Config is how the router reaches nginx.
type Config struct {
	// Dir is the directory nginx includes at http level
	// (include <Dir>/*.conf;). cutover owns the files named cutover-*.conf
	// and .cutover-* in it and creates it when missing. nginx's workers
	// must be able to look into it (the notice file is checked per
	// request).
	Dir string
	// Test checks nginx's whole configuration (argv); it must fail, with
	// nginx's message, when nginx would refuse it. Default: nginx -t.
	Test []string
	// Reload makes the running nginx load its configuration (argv).
	// Default: nginx -s reload.
	Reload []string
	// PIDFile is the nginx master's pid file. When it and /proc can be
	// read, a switch returns once the workers that ran the previous
	// configuration have exited (they finish the requests they have, on
	// the old targets), bounded by the route's DrainTimeout. Default:
	// /run/nginx.pid when Reload is the default, else none (Settle is
	// waited instead).
	PIDFile string
	// Settle is how long a switch waits for the old workers to finish when
	// their exit cannot be watched, bounded by the route's DrainTimeout.
	// Default 2s.
	Settle time.Duration
	// ReloadNotice is how long, before each reload, the generated servers
	// answer every request with "Connection: close": nginx closes idle
	// keep-alive connections when it reloads, and a client sending on one
	// at that moment gets an error; clients told to close beforehand never
	// do. Default 1s; negative: no notice.
	ReloadNotice time.Duration
	// VerifyTimeout bounds how long a switch probes through nginx for an
	// answer from the new configuration (default 10s).
	VerifyTimeout time.Duration
	// ProbeAddr says where to reach nginx for a route (host:port). Default:
	// the route's listen address, with 0.0.0.0 and :: replaced by loopback.
	ProbeAddr func(lb.Route) string
	// ErrorLog is nginx's error log. When set, the error of a switch that
	// nginx did not take after its reload quotes what nginx logged.
	ErrorLog string
	// CommandTimeout bounds each Test and Reload command (default 30s).
	CommandTimeout time.Duration
}

// Defaults for zero Config fields.
const (
	DefaultSettle         = 2 * time.Second
	DefaultReloadNotice   = time.Second
	DefaultVerifyTimeout  = 10 * time.Second
	DefaultCommandTimeout = 30 * time.Second
	DefaultPIDFile        = "/run/nginx.pid"
)

// Default commands.
var (
	defaultTest   = []string{"nginx", "-t"}
	defaultReload = []string{"nginx", "-s", "reload"}
)

// ProbeHost returns a Config.ProbeAddr that reaches every route at host,
// on its listen port: for an nginx that listens elsewhere than where
// cutover runs (in a container with published ports, say).
func ProbeHost(host string) func(lb.Route) string {
	return func(r lb.Route) string {
		_, port, err := net.SplitHostPort(r.Listen)
		if err != nil {
			return r.Listen
		}
		return net.JoinHostPort(host, port)
	}
}

// withDefaults checks c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	if err := checkDir(c.Dir); err != nil {
		return c, err
	}
	if len(c.Test) == 0 {
		c.Test = slices.Clone(defaultTest)
	}
	if len(c.Reload) == 0 {
		c.Reload = slices.Clone(defaultReload)
		if c.PIDFile == "" {
			c.PIDFile = DefaultPIDFile
		}
	}
	for _, argv := range [][]string{c.Test, c.Reload} {
		if argv[0] == "" {
			return c, fmt.Errorf("nginx router: command %q has no program", argv)
		}
	}
	if c.Settle <= 0 {
		c.Settle = DefaultSettle
	}
	if c.ReloadNotice == 0 {
		c.ReloadNotice = DefaultReloadNotice
	}
	if c.VerifyTimeout <= 0 {
		c.VerifyTimeout = DefaultVerifyTimeout
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.ProbeAddr == nil {
		c.ProbeAddr = func(r lb.Route) string { return probeAddrFromListen(r.Listen) }
	}
	return c, nil
}
