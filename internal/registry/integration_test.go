package registry_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/registry"
	"github.com/cutover/cutover/internal/registry/registrytest"
	"github.com/cutover/cutover/internal/registryauth"
	"github.com/cutover/cutover/internal/testimage"
	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
)

// images builds two different test images and returns a docker client
// and their IDs.
func images(t *testing.T) (*client.Client, string, string) {
	t.Helper()
	b := testimage.ForTest(t) // fails (or skips with CUTOVER_SKIP_DOCKER=1) without an engine
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	id := strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
	v1 := b.BuildForTest(t, testimage.Options{Tag: "cutover-registry-test-" + id + ":v1", Version: "v1"})
	v2 := b.BuildForTest(t, testimage.Options{Tag: "cutover-registry-test-" + id + ":v2", Version: "v2"})
	return cli, v1, v2
}

// dockerConfig writes a docker config.json holding user:password for
// host, as `docker login` would, and loads it.
func dockerConfig(t *testing.T, host, user, password string) *registryauth.Config {
	t.Helper()
	data, err := json.Marshal(map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := registryauth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newClient(t *testing.T, creds registry.Credentials) *registry.Client {
	t.Helper()
	c, err := registry.New(registry.Options{Credentials: creds, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDigest_RealRegistryFollowsPushes(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	cli, v1, v2 := images(t)
	c := newClient(t, &registryauth.Config{})
	ref := reg.Ref("web", "v2")

	pushed1 := reg.Push(t, cli, v1, "web", "v2", dockerregistry.AuthConfig{})
	got, err := c.Digest(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got != pushed1 {
		t.Errorf("Digest(%s) = %s, want the pushed %s", ref, got, pushed1)
	}

	pushed2 := reg.Push(t, cli, v2, "web", "v2", dockerregistry.AuthConfig{})
	if pushed2 == pushed1 {
		t.Fatalf("two different images pushed with the same digest %s", pushed1)
	}
	got, err = c.Digest(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got != pushed2 {
		t.Errorf("after re-pushing the tag, Digest(%s) = %s, want the new %s", ref, got, pushed2)
	}

	for _, missing := range []struct{ ref, msg string }{
		{reg.Ref("web", "nope"), "no tag nope in " + reg.Addr + "/web"},
		{reg.Ref("other", "v2"), "no tag v2 in " + reg.Addr + "/other"},
	} {
		_, err := c.Digest(t.Context(), missing.ref)
		if !errors.Is(err, registry.ErrNotFound) || !strings.HasPrefix(err.Error(), missing.msg) {
			t.Errorf("Digest(%s) = %v, want ErrNotFound starting %q", missing.ref, err, missing.msg)
		}
	}
}

func TestDigest_RealRegistryWithAuth(t *testing.T) {
	users := map[string]string{"alice": "s3cret"}
	cli, v1, _ := images(t)
	for _, mode := range []string{registrytest.AuthBasic, registrytest.AuthToken} {
		t.Run(mode, func(t *testing.T) {
			reg := registrytest.Start(t, registrytest.Options{Auth: mode, Users: users})
			pushed := reg.Push(t, cli, v1, "team/web", "v1", dockerregistry.AuthConfig{Username: "alice", Password: "s3cret"})
			ref := reg.Ref("team/web", "v1")

			c := newClient(t, dockerConfig(t, reg.Addr, "alice", "s3cret"))
			for range 2 {
				got, err := c.Digest(t.Context(), ref)
				if err != nil {
					t.Fatal(err)
				}
				if got != pushed {
					t.Errorf("Digest(%s) = %s, want the pushed %s", ref, got, pushed)
				}
			}
			if mode == registrytest.AuthToken {
				// The push fetched tokens too; count only ours.
				before := reg.TokenRequests()
				if _, err := newClient(t, dockerConfig(t, reg.Addr, "alice", "s3cret")).Digest(t.Context(), ref); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Digest(t.Context(), ref); err != nil {
					t.Fatal(err)
				}
				if n := reg.TokenRequests() - before; n != 1 {
					t.Errorf("a new client and a warm one fetched %d tokens, want 1 (the warm one reuses its token)", n)
				}
			}

			_, err := newClient(t, dockerConfig(t, reg.Addr, "alice", "wrong")).Digest(t.Context(), ref)
			if want := "registry refused credentials for " + reg.Addr + "/team/web (user alice)"; !errors.Is(err, registry.ErrUnauthorized) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("wrong password: err = %v, want %q", err, want)
			}
			_, err = newClient(t, &registryauth.Config{}).Digest(t.Context(), ref)
			if want := "registry " + reg.Addr + " needs credentials for team/web"; !errors.Is(err, registry.ErrUnauthorized) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("no credentials: err = %v, want %q", err, want)
			}
		})
	}
}
