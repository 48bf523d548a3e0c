package deploy_test

import (
	"errors"
	"testing"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

func TestRedeploy_ChangesOnlyTheGivenServices(t *testing.T) {
	h := newHarness(t)
	first := h.mustDeploy(deploy.Request{})
	h.fake.AddImage("hello:2", "sha256:hello2")

	res, err := h.deployer.Redeploy(t.Context(), "hello", first.Release, map[string]string{"web": "hello:2"}, deploy.Request{Trigger: "webhook:registry"})
	if err != nil {
		t.Fatalf("Redeploy: %v", err)
	}
	rel := res.Release
	if rel.Number != 2 || rel.Status != store.StatusActive || rel.Trigger != "webhook:registry" {
		t.Errorf("release = %d %s triggered by %q, want 2 active by webhook:registry", rel.Number, rel.Status, rel.Trigger)
	}
	if rel.Images["web"].Ref != "hello:2" || rel.Images["cache"].Ref != "redis:7" {
		t.Errorf("images = %+v, want web hello:2 and cache still redis:7", rel.Images)
	}
	h.checkServing("hello:2")
	if c := h.container("hello-cache-1"); c.Labels["io.cutover.release"] != "1" {
		t.Errorf("cache was recreated by release %s; a redeploy of web must leave it alone", c.Labels["io.cutover.release"])
	}
}

func TestRedeploy_RefusesWhenTheServingReleaseMoved(t *testing.T) {
	h := newHarness(t)
	first := h.mustDeploy(deploy.Request{})
	h.mustDeploy(deploy.Request{Images: map[string]string{"web": "hello:2"}})

	_, err := h.deployer.Redeploy(t.Context(), "hello", first.Release, map[string]string{"web": "hello:1"}, deploy.Request{})
	if !errors.Is(err, deploy.ErrBaseMoved) {
		t.Fatalf("Redeploy from release 1 after release 2: %v, want ErrBaseMoved", err)
	}
	if n := h.releaseCount(); n != 2 {
		t.Errorf("%d releases recorded, want 2 (nothing for the refused redeploy)", n)
	}
	h.checkServing("hello:2")
	h.checkUnlocked()
}

// A service whose tag moved since its release keeps running what it ran:
// its tag pinned to the digest it ran.
func TestRedeploy_KeepsWhatOtherServicesRun(t *testing.T) {
	h := newHarness(t)
	first := h.mustDeploy(deploy.Request{})
	base := first.Release
	cache := base.Images["cache"]
	cache.Digest = "redis@sha256:" + sixtyFour("a")
	base.Images["cache"] = cache
	h.fake.AddImage("redis:7", "sha256:redis7-moved") // the tag now names another image
	h.fake.AddImage("redis:7@sha256:"+sixtyFour("a"), cache.ID)
	h.fake.SetHealth("redis:7@sha256:"+sixtyFour("a"), "healthy")

	res, err := h.deployer.Redeploy(t.Context(), "hello", base, map[string]string{"web": "hello:2"}, deploy.Request{})
	if err != nil {
		t.Fatalf("Redeploy: %v", err)
	}
	if got, want := res.Release.Images["cache"].Ref, "redis:7@sha256:"+sixtyFour("a"); got != want {
		t.Errorf("cache runs %s, want %s (its tag pinned to what it ran)", got, want)
	}
	if c := h.container("hello-cache-1"); c.ImageID != cache.ID {
		t.Errorf("cache runs image %s, want %s", c.ImageID, cache.ID)
	}
}

func TestPinRef(t *testing.T) {
	dg := "sha256:" + sixtyFour("b")
	for _, tc := range []struct{ ref, tag, digest, want string }{
		{"myorg/web:1.4.2", "1.4.3", dg, "myorg/web:1.4.3@" + dg},
		{"myorg/web:1.4.2", "", dg, "myorg/web:1.4.2@" + dg},
		{"myorg/web", "", dg, "myorg/web@" + dg},
		{"127.0.0.1:5000/web:v1", "v2", "", "127.0.0.1:5000/web:v2"},
		{"docker.io/myorg/web:1", "2", "", "docker.io/myorg/web:2"},
		{"127.0.0.1:5000/web:v1@" + dg, "v2", "", "127.0.0.1:5000/web:v2@" + dg},
	} {
		got, err := deploy.PinRef(tc.ref, tc.tag, tc.digest)
		if err != nil || got != tc.want {
			t.Errorf("PinRef(%q, %q, %q) = %q, %v; want %q", tc.ref, tc.tag, tc.digest, got, err, tc.want)
		}
	}
	if _, err := deploy.PinRef("myorg/web:1", "not a tag!", ""); err == nil {
		t.Error("PinRef with a bad tag: no error")
	}
}

func sixtyFour(c string) string {
	s := ""
	for range 64 {
		s += c
	}
	return s
}
