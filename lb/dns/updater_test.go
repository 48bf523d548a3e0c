package dns

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/dns/bindtest"
)

// newUpdater returns an updater for n's zone with n's key, its secret
// replaced by secret when set.
func newUpdater(t *testing.T, n *bindtest.Named, keyName, secret string) *Updater {
	t.Helper()
	if keyName == "" {
		keyName = n.KeyName
	}
	if secret == "" {
		secret = n.Secret
	}
	u, err := NewUpdater(UpdaterConfig{Server: n.Addr, Zone: n.Zone, KeyName: keyName, Secret: secret, Algorithm: n.Algorithm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUpdater_AgainstBIND(t *testing.T) {
	n := startNamed(t, bindtest.Options{Records: []string{"app 5 IN A 127.0.0.11"}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	u := newUpdater(t, n, "", "")
	must(t, u.EnsureRoute(ctx, appRoute()))

	t.Run("switch updates the record", func(t *testing.T) {
		must(t, u.SetTargets(ctx, "shop/web", []string{"127.0.0.12:8080"}))
		if got := digShort(t, n.Addr, "app.example.test"); !slices.Equal(got, []string{"127.0.0.12"}) {
			t.Fatalf("dig after the switch: %v", got)
		}
		out := dig(t, n.Addr, "app.example.test")
		if !strings.Contains(out, "app.example.test.\t5\tIN\tA\t127.0.0.12") {
			t.Errorf("record not written with TTL 5:\n%s", out)
		}
	})

	t.Run("both families replace the whole set", func(t *testing.T) {
		must(t, u.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080", "[fd00::11]:8080"}))
		if got := digShort(t, n.Addr, "app.example.test", "A"); !slices.Equal(got, []string{"127.0.0.11"}) {
			t.Errorf("A: %v", got)
		}
		if got := digShort(t, n.Addr, "app.example.test", "AAAA"); !slices.Equal(got, []string{"fd00::11"}) {
			t.Errorf("AAAA: %v", got)
		}
		must(t, u.SetTargets(ctx, "shop/web", []string{"127.0.0.12:8080"}))
		if got := digShort(t, n.Addr, "app.example.test", "AAAA"); len(got) != 0 {
			t.Errorf("AAAA left over after switching to an IPv4-only color: %v", got)
		}
	})

	t.Run("wrong secret fails and leaves the old record", func(t *testing.T) {
		bad := newUpdater(t, n, "", bindtest.NewSecret())
		// A daemon restarted with a rotated key knows the route already.
		must(t, bad.Restore(u.Snapshot()))
		err := bad.SetTargets(ctx, "shop/web", []string{"127.0.0.11:8080"})
		if !errors.Is(err, ErrUpdateRefused) {
			t.Fatalf("SetTargets with a wrong secret: %v, want ErrUpdateRefused", err)
		}
		for _, want := range []string{"app.example.test.", "127.0.0.11", n.Addr, "TSIG bad signature", "cutover-test."} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if got := digShort(t, n.Addr, "app.example.test"); !slices.Equal(got, []string{"127.0.0.12"}) {
			t.Errorf("after the refused update dig answers %v, want the old 127.0.0.12", got)
		}
		if targets, _ := bad.Targets(ctx, "shop/web"); !slices.Equal(targets, []string{"127.0.0.12:8080"}) {
			t.Errorf("refused update changed Targets to %v", targets)
		}
		// A new route fails at EnsureRoute, before any container starts.
		err = bad.EnsureRoute(ctx, lb.Route{Name: "shop/api", Host: "api.example.test"})
		if !errors.Is(err, ErrUpdateRefused) || !strings.Contains(err.Error(), "TSIG bad signature") {
			t.Errorf("EnsureRoute with a wrong secret: %v", err)
		}
	})

	t.Run("unknown key name", func(t *testing.T) {
		bad := newUpdater(t, n, "someone-else", "")
		err := bad.EnsureRoute(ctx, appRoute())
		if !errors.Is(err, ErrUpdateRefused) || !strings.Contains(err.Error(), "TSIG bad key") || !strings.Contains(err.Error(), "someone-else.") {
			t.Errorf("EnsureRoute with an unknown key: %v", err)
		}
	})

	t.Run("zone the server does not serve", func(t *testing.T) {
		other, err := NewUpdater(UpdaterConfig{Server: n.Addr, Zone: "other.test.", KeyName: n.KeyName, Secret: n.Secret}, nil)
		must(t, err)
		err = other.EnsureRoute(ctx, lb.Route{Name: "shop/web", Host: "app.other.test"})
		if err == nil || !strings.Contains(err.Error(), "not authoritative for zone other.test.") {
			t.Errorf("EnsureRoute on a zone the server lacks: %v", err)
		}
	})

	t.Run("weighted splits are refused, whole ones switch", func(t *testing.T) {
		split := lb.Split{Stable: []string{"127.0.0.12:8080"}, Canary: []string{"127.0.0.11:8080"}, Weight: 10}
		if err := u.SetSplit(ctx, "shop/web", split); !errors.Is(err, ErrSplitUnsupported) {
			t.Errorf("SetSplit 10%%: %v", err)
		}
		split.Weight = 100
		must(t, u.SetSplit(ctx, "shop/web", split))
		if got := digShort(t, n.Addr, "app.example.test"); !slices.Equal(got, []string{"127.0.0.11"}) {
			t.Errorf("dig after SetSplit 100%%: %v", got)
		}
	})

	t.Run("remove deletes the records", func(t *testing.T) {
		must(t, u.RemoveRoute(ctx, "shop/web"))
		if out := dig(t, n.Addr, "app.example.test"); !strings.Contains(out, "status: NXDOMAIN") {
			t.Errorf("after RemoveRoute:\n%s", out)
		}
		if _, err := u.Targets(ctx, "shop/web"); !errors.Is(err, lb.ErrNoRoute) {
			t.Errorf("Targets after RemoveRoute: %v", err)
		}
	})
}

func TestUpdater_PolicyThatRefusesAAAA(t *testing.T) {
	n := startNamed(t, bindtest.Options{Grant: "A", Records: []string{"app 5 IN A 127.0.0.11"}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	u := newUpdater(t, n, "", "")
	must(t, u.EnsureRoute(ctx, appRoute()))
	err := u.SetTargets(ctx, "shop/web", []string{"127.0.0.12:8080"})
	if !errors.Is(err, ErrUpdateRefused) || !strings.Contains(err.Error(), "REFUSED") || !strings.Contains(err.Error(), "zonesub A AAAA") {
		t.Fatalf("update outside the policy: %v", err)
	}
	if got := digShort(t, n.Addr, "app.example.test"); !slices.Equal(got, []string{"127.0.0.11"}) {
		t.Errorf("after the refused update dig answers %v, want the old 127.0.0.11", got)
	}
}
