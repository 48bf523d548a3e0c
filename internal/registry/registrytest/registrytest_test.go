package registrytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/registry/registrytest"
	"github.com/cutover/cutover/internal/testimage"
	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
)

// pushEvent is the part of a registry notification the test reads.
type pushEvent struct {
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
}

func TestStart_SendsPushNotifications(t *testing.T) {
	events := make(chan pushEvent, 64)
	auth := make(chan string, 64)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Events []pushEvent `json:"events"`
		}
		if json.Unmarshal(body, &env) == nil {
			for _, e := range env.Events {
				events <- e
				auth <- r.Header.Get("Authorization")
			}
		}
	}))
	t.Cleanup(hook.Close)

	reg := registrytest.Start(t, registrytest.Options{Notifications: []registrytest.Endpoint{{
		Name: "cutover", URL: hook.URL + "/hooks/registry", Headers: map[string][]string{"Authorization": {"Bearer test-token"}},
	}}})
	b := testimage.ForTest(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	id := b.BuildForTest(t, testimage.Options{Tag: "cutover-registrytest:v1", Version: "v1"})
	digest := reg.Push(t, cli, id, "web", "v1", dockerregistry.AuthConfig{})

	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			a := <-auth
			if e.Action != "push" || e.Target.Tag == "" {
				continue // blob pushes and HEAD "pull" events come too
			}
			if e.Target.Repository != "web" || e.Target.Tag != "v1" || e.Target.Digest != digest {
				t.Errorf("push event = %+v, want web:v1 at %s", e.Target, digest)
			}
			if a != "Bearer test-token" {
				t.Errorf("Authorization = %q, want the configured header", a)
			}
			return
		case <-deadline:
			t.Fatal("no manifest push event within 10s")
		}
	}
}
