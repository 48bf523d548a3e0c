package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/registry"
	"github.com/cutover/cutover/internal/watch"
)

// fixedDigests answers Digest from a map.
type fixedDigests map[string]string

func (f fixedDigests) Digest(_ context.Context, ref string) (string, error) {
	if d, ok := f[ref]; ok {
		return d, nil
	}
	return "", errors.New("no such tag")
}

func digestOf(c string) string { return "sha256:" + strings.Repeat(c, 64) }

func TestTriggers_ImageFor(t *testing.T) {
	tr := &triggers{ops: &Ops{Registry: fixedDigests{
		"myorg/web:v1": digestOf("b"), // v1 moved
		"myorg/qa:qa":  digestOf("a"), // qa did not
	}}}
	policy := func(spec string) watch.Policy {
		p, err := watch.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		desc   string
		svc    service
		want   want
		ref    string
		reason string
	}{
		{desc: "semver push with a digest runs the pushed tag, pinned",
			svc:  service{name: "web", ref: "myorg/web:1.4.2", tag: "1.4.2", policy: policy("semver:^1.4")},
			want: want{tag: "1.4.3", digest: digestOf("c"), source: "registry"}, ref: "myorg/web:1.4.3@" + digestOf("c")},
		{desc: "never backwards",
			svc:  service{name: "web", ref: "myorg/web:1.5.0", tag: "1.5.0", policy: policy("semver:^1.4")},
			want: want{tag: "1.4.9", source: "registry"}, reason: "does not take 1.4.9"},
		{desc: "moving: a more specific tag pulls the service's own tag anew, by its registry digest",
			svc:  service{name: "web", ref: "myorg/web:v1", tag: "v1", digest: digestOf("a"), policy: policy("moving")},
			want: want{tag: "v1.2.3", digest: digestOf("c"), source: "dockerhub"}, ref: "myorg/web:v1@" + digestOf("b")},
		{desc: "exact push without a digest, tag unchanged in the registry: nothing to do",
			svc:  service{name: "qa", ref: "myorg/qa:qa", tag: "qa", digest: digestOf("a")},
			want: want{tag: "qa", source: "dockerhub"}, reason: "runs sha256:aaaaaaaaaaaa already"},
		{desc: "exact push of another tag is not taken",
			svc:  service{name: "qa", ref: "myorg/qa:qa", tag: "qa"},
			want: want{tag: "staging", source: "generic"}, reason: "does not take staging"},
		{desc: "the check pins the service's own tag to the registry's digest",
			svc:  service{name: "qa", ref: "myorg/qa:qa", tag: "qa", digest: digestOf("e")},
			want: want{tag: "qa", digest: digestOf("a"), source: TriggerCheck}, ref: "myorg/qa:qa@" + digestOf("a")},
		{desc: "a registry that cannot answer leaves a moved-or-not tag alone",
			svc:  service{name: "x", ref: "myorg/x:v1", tag: "v1", policy: policy("moving")},
			want: want{tag: "v1.2", source: "generic"}, reason: "cannot tell whether myorg/x:v1 moved"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ref, reason := tr.imageFor(context.Background(), tc.svc, tc.want)
			if ref != tc.ref || !strings.Contains(reason, tc.reason) || (tc.reason == "") != (reason == "") {
				t.Errorf("imageFor = %q, %q; want %q, %q", ref, reason, tc.ref, tc.reason)
			}
		})
	}
}

func TestTriggers_NewestWantWins(t *testing.T) {
	tr := &triggers{stacks: map[string]*stackQueue{}}
	// A worker is already marked as running, so enqueue only queues.
	tr.stacks["shop"] = &stackQueue{pending: map[string]want{}, working: true}
	for _, tag := range []string{"1.0.3", "1.0.10", "1.0.9", "1.0.2"} {
		tr.enqueue("shop", want{service: "web", tag: tag, at: time.Now()})
	}
	tr.enqueue("shop", want{service: "qa", tag: "qa"})
	tr.enqueue("shop", want{service: "qa", tag: "latest"})
	got := tr.stacks["shop"].pending
	if got["web"].tag != "1.0.10" || got["qa"].tag != "latest" {
		t.Errorf("pending = %+v, want web 1.0.10 (the highest version) and qa latest (the last to arrive)", got)
	}
}

func TestTriggerName(t *testing.T) {
	for _, tc := range []struct {
		sources []string
		want    string
	}{
		{[]string{"registry"}, "webhook:registry"},
		{[]string{"registry", "github"}, "webhook:github+registry"},
		{[]string{TriggerCheck}, "check"},
		{[]string{TriggerCheck, "dockerhub"}, "webhook:dockerhub"},
	} {
		if got := triggerName(tc.sources); got != tc.want {
			t.Errorf("triggerName(%v) = %q, want %q", tc.sources, got, tc.want)
		}
	}
}

func TestRateLimits_BackOff(t *testing.T) {
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	l := newRateLimits(time.Minute, func() time.Time { return now })
	var answer error
	calls := 0
	lookup := l.wrap(func(context.Context, string) (string, error) {
		calls++
		if answer != nil {
			return "", answer
		}
		return digestOf("a"), nil
	})
	ask := func() error {
		_, err := lookup(context.Background(), "docker.io/myorg/web:1")
		return err
	}

	answer = &registry.RateLimitError{Registry: "docker.io", RetryAfter: 90 * time.Second}
	if err := ask(); !errors.Is(err, registry.ErrRateLimited) {
		t.Fatalf("first 429: %v", err)
	}
	now = now.Add(80 * time.Second)
	if err := ask(); err == nil || calls != 1 {
		t.Fatalf("within Retry-After: err %v after %d calls, want a refusal without asking", err, calls)
	}
	// Other registries are asked meanwhile.
	if _, err := lookup(context.Background(), "ghcr.io/o/a:1"); !errors.Is(err, registry.ErrRateLimited) || calls != 2 {
		t.Fatalf("another registry: %v after %d calls", err, calls)
	}
	// No Retry-After: the interval, then double.
	now = now.Add(11 * time.Second)
	answer = &registry.RateLimitError{Registry: "docker.io"}
	_ = ask() // strike 2: wait 2 × 1m
	now = now.Add(119 * time.Second)
	if err := ask(); err == nil || calls != 3 {
		t.Fatalf("inside the doubled wait: %v after %d calls", err, calls)
	}
	now = now.Add(2 * time.Second)
	answer = nil
	if err := ask(); err != nil || calls != 4 {
		t.Fatalf("after the wait: %v after %d calls", err, calls)
	}
	answer = &registry.RateLimitError{Registry: "docker.io"}
	_ = ask() // an answer came in between: back to one interval
	now = now.Add(61 * time.Second)
	answer = nil
	if err := ask(); err != nil || calls != 6 {
		t.Fatalf("one interval after a fresh 429: %v after %d calls", err, calls)
	}
}
