package testimage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
)

// Integration tests: they need the Docker engine and fail when it is
// unreachable, unless CUTOVER_SKIP_DOCKER=1.

func TestBuildAndRun(t *testing.T) {
	b := ForTest(t)
	cli := dockerClient(t)
	id := uniqueID(t)
	greeting := `a "quoted" $value \ here`

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		tag := "cutover-testimage-it:" + id + "-v1"
		b.BuildForTest(t, Options{
			Tag:         tag,
			Version:     "v1",
			Env:         map[string]string{"TESTAPP_GREETING": greeting},
			Healthcheck: true,
		})
		ctr := runContainer(t, cli, tag)
		addr := publishedAddr(t, cli, ctr)

		body, header := httpGet(t, "http://"+addr+"/")
		if body != "v1\n" || header.Get("X-Version") != "v1" {
			t.Errorf("GET / = %q, X-Version %q; want v1", body, header.Get("X-Version"))
		}
		if got, _ := httpGet(t, "http://"+addr+"/env?k=TESTAPP_GREETING"); got != greeting+"\n" {
			t.Errorf("baked env = %q, want %q", got, greeting+"\n")
		}
		waitHealth(t, cli, ctr, "healthy", 5*time.Second)
	})

	t.Run("unhealthy", func(t *testing.T) {
		t.Parallel()
		tag := "cutover-testimage-it:" + id + "-fail"
		b.BuildForTest(t, Options{
			Tag:         tag,
			Env:         map[string]string{"TESTAPP_HEALTH": "fail"},
			Healthcheck: true,
		})
		waitHealth(t, cli, runContainer(t, cli, tag), "unhealthy", 5*time.Second)
	})

	t.Run("exit on start", func(t *testing.T) {
		t.Parallel()
		tag := "cutover-testimage-it:" + id + "-exit"
		b.BuildForTest(t, Options{Tag: tag, Env: map[string]string{"TESTAPP_EXIT_ON_START": "1"}})
		ctr := runContainer(t, cli, tag)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		statusc, errc := cli.ContainerWait(ctx, ctr, container.WaitConditionNotRunning)
		select {
		case st := <-statusc:
			if st.StatusCode != 2 {
				t.Errorf("exit status = %d, want 2", st.StatusCode)
			}
		case err := <-errc:
			t.Fatalf("waiting for container: %v", err)
		}
	})
}

// TestDockerfileBuildsSameImage builds WriteContext's Dockerfile with the
// classic builder, as compose `build:` sections do, and checks it gives the
// configuration Build gives.
func TestDockerfileBuildsSameImage(t *testing.T) {
	b := ForTest(t)
	cli := dockerClient(t)
	id := uniqueID(t)
	opts := Options{
		Tag:         "cutover-testimage-it:" + id + "-import",
		Version:     "v4",
		Env:         map[string]string{"TESTAPP_GREETING": `a "quoted" $value \ here`},
		Healthcheck: true,
		Labels:      map[string]string{"team": "blue"},
	}
	b.BuildForTest(t, opts)

	binary, err := b.Binary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteContext(dir, binary, opts); err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	buildCtx, err := tarFiles(map[string]string{"testapp": filepath.Join(dir, "testapp")},
		map[string][]byte{"Dockerfile": dockerfile})
	if err != nil {
		t.Fatal(err)
	}
	built := "cutover-testimage-it:" + id + "-build"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Remove(ctx, built); err != nil {
			t.Error(err)
		}
	})
	resp, err := cli.ImageBuild(t.Context(), buildCtx, build.ImageBuildOptions{
		Tags: []string{built}, Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		t.Fatalf("building %s: %v", built, err)
	}
	defer resp.Body.Close()
	if err := readMessages(resp.Body); err != nil {
		t.Fatalf("building %s: %v", built, err)
	}

	imported, _ := cli.ImageInspect(t.Context(), opts.Tag)
	classic, _ := cli.ImageInspect(t.Context(), built)
	a, c := imported.Config, classic.Config
	// The classic builder gives scratch images a default PATH; import does not.
	c.Env = slices.DeleteFunc(c.Env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") })
	for _, diff := range []struct {
		what      string
		got, want any
	}{
		{"Env", c.Env, a.Env},
		{"Entrypoint", c.Entrypoint, a.Entrypoint},
		{"ExposedPorts", c.ExposedPorts, a.ExposedPorts},
		{"Labels", c.Labels, a.Labels},
		{"Healthcheck", c.Healthcheck, a.Healthcheck},
	} {
		if !reflect.DeepEqual(diff.got, diff.want) {
			t.Errorf("%s: classic build %v, import %v", diff.what, diff.got, diff.want)
		}
	}
}

func TestBuildRequiresTag(t *testing.T) {
	if _, err := New(nil).Build(t.Context(), Options{}); err == nil {
		t.Error("Build without a tag succeeded")
	}
}

func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func uniqueID(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 4)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(buf)
}

// runContainer starts a container of image with port 8080 published on a
// random loopback port, and removes it when the test ends.
func runContainer(t *testing.T, cli *client.Client, image string) string {
	t.Helper()
	ctx := t.Context()
	resp, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image:        image,
			ExposedPorts: nat.PortSet{"8080/tcp": {}},
			Labels:       map[string]string{Label: "true"},
		},
		&container.HostConfig{
			PortBindings: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}},
		},
		nil, nil, "")
	if err != nil {
		t.Fatalf("creating container of %s: %v", image, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cli.ContainerRemove(ctx, resp.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("removing container %s: %v", resp.ID, err)
		}
	})
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting container of %s: %v", image, err)
	}
	return resp.ID
}

// publishedAddr returns the host address container port 8080 is published on.
func publishedAddr(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	info, err := cli.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatalf("inspecting container: %v", err)
	}
	bindings := info.NetworkSettings.Ports["8080/tcp"]
	if len(bindings) == 0 {
		t.Fatalf("port 8080 not published: %v", info.NetworkSettings.Ports)
	}
	return net.JoinHostPort(bindings[0].HostIP, bindings[0].HostPort)
}

// httpGet retries until the app answers (it needs a moment to start).
func httpGet(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return string(body), resp.Header
			}
			if err == nil {
				err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitHealth waits until the container's health status is want.
func waitHealth(t *testing.T, cli *client.Client, id, want string, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		info, err := cli.ContainerInspect(t.Context(), id)
		if err != nil {
			t.Fatalf("inspecting container: %v", err)
		}
		if info.State.Health == nil {
			t.Fatal("container has no health check")
		}
		if last = info.State.Health.Status; last == want {
			t.Logf("container %.12s %s after %v", id, want, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("health = %q after %v, want %q", last, timeout, want)
}
