package lb

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"
)

func addrsOf(bs ...*backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.addr()
	}
	return out
}

func setSplit(t *testing.T, p *Proxy, route string, s Split) {
	t.Helper()
	ctx, cancel := contextWithWait(t)
	defer cancel()
	if err := p.SetSplit(ctx, route, s); err != nil {
		t.Fatal(err)
	}
}

// getN sends n GETs with c and counts the answers by backend name.
func getN(t *testing.T, c *http.Client, url string, n int, hdr http.Header) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		code, body, err := do(c, req)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET %d: %d %q %v", i, code, body, err)
		}
		got[body]++
	}
	return got
}

func TestProxy_SplitShares(t *testing.T) {
	s1, s2, c1 := newBackend(t, "s1"), newBackend(t, "s2"), newBackend(t, "c1")
	p, url := newTestProxy(t, Route{})
	c := newClient(t, true)
	const n = 2000
	for _, w := range []int{10, 50, 90} {
		t.Run(fmt.Sprintf("weight %d", w), func(t *testing.T) {
			setSplit(t, p, "stack/web", Split{Stable: addrsOf(s1, s2), Canary: addrsOf(c1), Weight: w})
			got := getN(t, c, url, n, nil)
			share := 100 * got["c1"] / n
			if share < w-3 || share > w+3 {
				t.Errorf("canary got %d %% of %d requests (%v), want %d ± 3", share, n, got, w)
			}
			if d := got["s1"] - got["s2"]; d < -2 || d > 2 {
				t.Errorf("stable targets not round robin: %v", got)
			}
		})
	}

	rs := p.Status()[0]
	if rs.Weight != 90 || len(rs.Targets) != 3 {
		t.Fatalf("status: %+v", rs)
	}
	want := []TargetStatus{{Addr: s1.addr(), Side: SideStable, Weight: 10}, {Addr: s2.addr(), Side: SideStable, Weight: 10}, {Addr: c1.addr(), Side: SideCanary, Weight: 90}}
	for i, ts := range rs.Targets {
		if ts.Addr != want[i].Addr || ts.Side != want[i].Side || ts.Weight != want[i].Weight || ts.State != TargetActive {
			t.Errorf("status target %d: %+v, want %s %s weight %d", i, ts, want[i].Addr, want[i].Side, want[i].Weight)
		}
	}

	// SetTargets ends the split; the targets it keeps keep serving.
	setTargets(t, p, "stack/web", c1.addr())
	if got := getN(t, c, url, 10, nil); got["c1"] != 10 {
		t.Errorf("after SetTargets(c1): %v", got)
	}
	rs = p.Status()[0]
	if rs.Weight != 0 || rs.Targets[0].Side != "" || rs.Targets[0].Weight != 0 {
		t.Errorf("status after the split ended: %+v", rs)
	}
}

func TestProxy_SplitStickyCookie(t *testing.T) {
	s, cn := newBackend(t, "stable"), newBackend(t, "canary")
	p, url := newTestProxy(t, Route{Sticky: &Sticky{Cookie: "cutover-side"}})
	setSplit(t, p, "stack/web", Split{Stable: addrsOf(s), Canary: addrsOf(cn), Weight: 50})

	sides := map[string]int{}
	for i := range 6 {
		jar, _ := cookiejar.New(nil)
		c := newClient(t, i%2 == 0)
		c.Jar = jar
		var first string
		for n := range 50 {
			code, body, err := get(c, url)
			if err != nil || code != http.StatusOK {
				t.Fatalf("client %d request %d: %d %q %v", i, n, code, body, err)
			}
			if n == 0 {
				first = body
			} else if body != first {
				t.Fatalf("client %d moved from %s to %s at request %d", i, first, body, n)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if cs := jar.Cookies(req.URL); len(cs) != 1 || cs[0].Name != "cutover-side" || cs[0].Value != first {
			t.Errorf("client %d on %s has cookies %v", i, first, cs)
		}
		sides[first]++
	}
	if sides["stable"] == 0 || sides["canary"] == 0 {
		t.Errorf("6 new clients at weight 50 all landed on one side: %v", sides)
	}

	// At weight 100 the canary takes every client, sticky or not.
	setSplit(t, p, "stack/web", Split{Stable: addrsOf(s), Canary: addrsOf(cn), Weight: 100})
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.AddCookie(&http.Cookie{Name: "cutover-side", Value: "stable"})
	if code, body, err := do(newClient(t, true), req); err != nil || code != http.StatusOK || body != "canary" {
		t.Errorf("stable-cookie client at weight 100: %d %q %v, want canary", code, body, err)
	}
}

func TestProxy_SplitStickyHeader(t *testing.T) {
	s, cn := newBackend(t, "stable"), newBackend(t, "canary")
	p, url := newTestProxy(t, Route{Sticky: &Sticky{Header: "x-user"}})
	c := newClient(t, true)

	sideAt := func(weight int) map[string]string {
		setSplit(t, p, "stack/web", Split{Stable: addrsOf(s), Canary: addrsOf(cn), Weight: weight})
		out := map[string]string{}
		for u := range 20 {
			user := fmt.Sprintf("user-%d", u)
			got := getN(t, c, url, 50, http.Header{"X-User": {user}})
			if len(got) != 1 {
				t.Fatalf("weight %d: %s was sent to both sides: %v", weight, user, got)
			}
			for side := range got {
				out[user] = side
			}
		}
		return out
	}
	at50 := sideAt(50)
	var canaries int
	for _, side := range at50 {
		if side == "canary" {
			canaries++
		}
	}
	if canaries == 0 || canaries == len(at50) {
		t.Errorf("20 users at weight 50: %d on the canary, want some on each side", canaries)
	}
	// Raising the weight only moves users from stable to canary.
	for user, side := range sideAt(90) {
		if at50[user] == "canary" && side != "canary" {
			t.Errorf("%s moved from canary to %s when the weight rose", user, side)
		}
	}
}

func TestProxy_SplitUnhealthyCanaryGetsNothing(t *testing.T) {
	s, cn := newBackend(t, "stable"), newBackend(t, "canary")
	p, url := newTestProxy(t, Route{Health: Health{Path: "/healthz", Interval: 10 * time.Millisecond}})
	cn.healthy.Store(false)
	setSplit(t, p, "stack/web", Split{Stable: addrsOf(s), Canary: addrsOf(cn), Weight: 90})
	eventually(t, "the canary is marked unhealthy", func() bool {
		ts, _ := targetStatus(p, "stack/web", cn.addr())
		return !ts.Healthy
	})
	before := cn.hits.Load()
	if got := getN(t, newClient(t, true), url, 100, nil); got["stable"] != 100 {
		t.Errorf("with the canary unhealthy: %v, want all 100 on stable", got)
	}
	if n := cn.hits.Load() - before; n != 0 {
		t.Errorf("unhealthy canary got %d requests", n)
	}
}

// TestProxy_SplitChangesUnderLoadLoseNothing moves a canary from 10 % to
// promotion while clients that never retry keep sending.
func TestProxy_SplitChangesUnderLoadLoseNothing(t *testing.T) {
	s1, s2, c1, c2 := newBackend(t, "s1"), newBackend(t, "s2"), newBackend(t, "c1"), newBackend(t, "c2")
	p, url := newTestProxy(t, Route{Health: Health{Path: "/healthz"}, Sticky: &Sticky{Cookie: "side"}})
	setTargets(t, p, "stack/web", s1.addr(), s2.addr())

	l := startLoad(t, url, 4, 2)
	for _, s := range []Split{
		{Stable: addrsOf(s1, s2), Canary: addrsOf(c1), Weight: 10},
		{Stable: addrsOf(s1, s2), Canary: addrsOf(c1, c2), Weight: 50},
		{Stable: addrsOf(s1), Canary: addrsOf(c1, c2), Weight: 90},
		{Stable: addrsOf(c1, c2)}, // promoted: s1 leaves and drains
	} {
		l.progress(t, 150)
		setSplit(t, p, "stack/web", s)
	}
	frozen := s1.hits.Load() + s2.hits.Load()
	l.progress(t, 150)
	failures := l.finish()
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, first: %s", len(failures), int64(len(failures))+l.ok.Load(), failures[0])
	}
	if got := s1.hits.Load() + s2.hits.Load(); got != frozen {
		t.Errorf("old stable targets got %d requests after the promotion returned", got-frozen)
	}
	if c2.hits.Load() == 0 {
		t.Error("the second canary got no request")
	}
}

func TestProxy_SplitInvalid(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, _ := newTestProxy(t, Route{})
	for _, tc := range []struct {
		desc  string
		split Split
	}{
		{"weight above 100", Split{Stable: addrsOf(a), Canary: addrsOf(b), Weight: 101}},
		{"weight without canary", Split{Stable: addrsOf(a), Weight: 10}},
		{"no stable below 100", Split{Canary: addrsOf(b), Weight: 50}},
		{"target on both sides", Split{Stable: addrsOf(a), Canary: addrsOf(a), Weight: 50}},
		{"bad address", Split{Stable: []string{"10.0.0.1"}}},
	} {
		if err := p.SetSplit(t.Context(), "stack/web", tc.split); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.desc, err)
		}
	}
	for _, st := range []Sticky{{}, {Cookie: "a", Header: "b"}, {Cookie: "a b"}, {Header: "x:y"}} {
		err := p.EnsureRoute(t.Context(), Route{Name: "stack/web", Listen: "127.0.0.1:0", Sticky: &st})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("sticky %+v: %v, want ErrInvalid", st, err)
		}
	}
}
