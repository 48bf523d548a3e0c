package dns

import (
	"context"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
)

// router is deploy.Router's method set (internal/deploy/router.go), plus
// what a DNS router adds. It is repeated here so that lb/dns does not
// import internal/deploy; if deploy.Router changes, change it here too.
type router interface {
	EnsureRoute(ctx context.Context, r lb.Route) error
	RemoveRoute(ctx context.Context, name string) error
	CheckTargets(ctx context.Context, route string, addrs []string) error
	SetTargets(ctx context.Context, route string, addrs []string) error
	Targets(ctx context.Context, route string) ([]string, error)
	Status() []lb.RouteStatus

	SetSplit(ctx context.Context, route string, split lb.Split) error
	DrainDelay() time.Duration
	Snapshot() []RouteState
	Restore(states []RouteState) error
}

var (
	_ router = (*Server)(nil)
	_ router = (*Updater)(nil)
)

func TestDrainDelay_KeepsTheOldColorWhileClientsCache(t *testing.T) {
	for _, tc := range []struct {
		ttl, want time.Duration
	}{
		{0, 60 * time.Second}, // default TTL 5 s
		{5 * time.Second, 60 * time.Second},
		{20 * time.Second, 60 * time.Second},
		{30 * time.Second, 90 * time.Second},
	} {
		s, err := NewServer(ServerConfig{Zone: testZone, Listen: "127.0.0.1:0", TTL: tc.ttl}, nil)
		must(t, err)
		u, err := NewUpdater(UpdaterConfig{Server: "127.0.0.1", Zone: testZone, KeyName: "k", Secret: "c2VjcmV0", TTL: tc.ttl}, nil)
		must(t, err)
		for _, r := range []router{s, u} {
			if got := r.DrainDelay(); got != tc.want {
				t.Errorf("%T with TTL %s: DrainDelay %s, want %s", r, tc.ttl, got, tc.want)
			}
		}
	}
}

func TestUpdaterConfig_ServerPort(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.53", "192.0.2.53:53"},
		{"192.0.2.53:5353", "192.0.2.53:5353"},
		{"::1", "[::1]:53"},
		{"[::1]", "[::1]:53"},
		{"[::1]:5353", "[::1]:5353"},
		{"ns.example.test", "ns.example.test:53"},
	} {
		u, err := NewUpdater(UpdaterConfig{Server: tc.in, Zone: testZone, KeyName: "k", Secret: "c2VjcmV0"}, nil)
		if err != nil || u.cfg.Server != tc.want {
			t.Errorf("server %q: %v, %v; want %s", tc.in, u, err, tc.want)
		}
	}
	for _, bad := range []UpdaterConfig{
		{Server: "a:b:c:d:e", Zone: testZone, KeyName: "k", Secret: "c2VjcmV0"},
		{Server: "127.0.0.1", Zone: testZone, KeyName: "k", Secret: "not base64!"},
		{Server: "127.0.0.1", Zone: testZone, Secret: "c2VjcmV0"},
		{Server: "127.0.0.1", Zone: testZone, KeyName: "k", Secret: "c2VjcmV0", Algorithm: "hmac-md5"},
		{Server: "127.0.0.1", Zone: ".", KeyName: "k", Secret: "c2VjcmV0"},
	} {
		if _, err := NewUpdater(bad, nil); err == nil {
			t.Errorf("NewUpdater(%+v) accepted", bad)
		}
	}
}
