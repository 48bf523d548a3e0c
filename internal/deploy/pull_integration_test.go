package deploy_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/registry/registrytest"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// TestDeploy_PullsFromARegistry: a stack whose image is only in a
// registry (a real one, with basic auth) is pulled with the credentials of
// the user's docker config, with pull progress reported, and the release
// records the digest the registry serves. Without credentials the release
// fails before anything changes, saying why.
func TestDeploy_PullsFromARegistry(t *testing.T) {
	builder := testimage.ForTest(t)
	reg := registrytest.Start(t, registrytest.Options{Auth: registrytest.AuthBasic, Users: map[string]string{"alice": "s3cret"}})
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	local := builder.BuildForTest(t, testimage.Options{Tag: "cutover-pull-" + id + ":v1", Version: "v1"})
	pushed := reg.Push(t, cli, local, "pulltest", id, dockerregistry.AuthConfig{Username: "alice", Password: "s3cret"})
	ref := reg.Ref("pulltest", id)
	// Only the registry has the reference now.
	if _, err := cli.ImageRemove(t.Context(), ref, image.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	stack := "pull" + id[len(id)-8:]
	yaml := "name: " + stack + "\nservices:\n  web:\n    image: " + ref + "\n    stop_grace_period: 1s\nx-cutover:\n  min_ready: 300ms\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	deployWith := func(configJSON map[string]any) (deploy.Result, []deploy.Event, *store.Store, error) {
		cfg := filepath.Join(t.TempDir(), "config.json")
		data, _ := json.Marshal(configJSON)
		if err := os.WriteFile(cfg, data, 0o600); err != nil {
			t.Fatal(err)
		}
		eng, err := docker.New(t.Context(), docker.WithDockerConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		s, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		var mu sync.Mutex
		var events []deploy.Event
		d := &deploy.Deployer{Engine: eng, Store: s, Poll: 50 * time.Millisecond, Observer: deploy.ObserverFunc(func(ev deploy.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		})}
		t.Cleanup(func() { _, _ = d.Down(context.Background(), stack, true) })
		res, err := d.Deploy(t.Context(), deploy.Request{Stack: st})
		mu.Lock()
		defer mu.Unlock()
		return res, append([]deploy.Event(nil), events...), s, err
	}

	// No credentials: a clear failure, and nothing ran.
	_, _, _, err = deployWith(map[string]any{"auths": map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), ref) {
		t.Fatalf("deploy without credentials: %v, want an error naming %s", err, ref)
	}
	lister, err := docker.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lister.Close() })
	if cs, err := lister.ListContainers(t.Context(), map[string]string{compose.LabelProject: stack}); err != nil || len(cs) != 0 {
		t.Errorf("%d containers after the failed pull (%v)", len(cs), err)
	}

	// With the user's credentials the image is pulled and the release pins it.
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	res, events, _, err := deployWith(map[string]any{"auths": map[string]any{reg.Addr: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatalf("deploy with credentials: %v", err)
	}
	pulls := 0
	for _, ev := range events {
		if ev.Kind == deploy.KindImage && ev.Action == "pull" && ev.Target == ref {
			pulls++
		}
	}
	if pulls < 2 {
		t.Errorf("%d pull events for %s, want started and done at least", pulls, ref)
	}
	img := res.Release.Images["web"]
	if res.Release.Status != store.StatusActive || !strings.HasSuffix(img.Pinned(), "@"+pushed) {
		t.Errorf("release 1: %s, web pinned as %q; want active and pinned to %s", res.Release.Status, img.Pinned(), pushed)
	}
}
