package docker

// Tests that need no Docker engine.

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/cutover/cutover/internal/engine"
)

func TestReadJSONStream(t *testing.T) {
	tests := []struct {
		name     string
		stream   string
		wantErr  string
		wantMsgs int
	}{
		{
			name: "success",
			stream: `{"status":"Pulling from library/app","id":"1"}
{"status":"Downloading","progressDetail":{"current":5,"total":10},"id":"abc"}
{"status":"Status: Downloaded newer image for app:1"}
`,
			wantMsgs: 3,
		},
		{
			name: "mid-stream errorDetail",
			stream: `{"status":"Pulling from myorg/nope","id":"1"}
{"status":"Downloading","progressDetail":{"current":5,"total":10},"id":"abc"}
{"errorDetail":{"message":"manifest for myorg/nope:1 not found: manifest unknown"},"error":"manifest for myorg/nope:1 not found: manifest unknown"}
{"status":"never reached"}
`,
			wantErr:  "manifest for myorg/nope:1 not found: manifest unknown",
			wantMsgs: 2,
		},
		{
			name:     "legacy error field only",
			stream:   `{"status":"x"}{"error":"unauthorized: authentication required"}`,
			wantErr:  "unauthorized: authentication required",
			wantMsgs: 1,
		},
		{
			name:     "errorDetail without message",
			stream:   `{"errorDetail":{"code":7}}`,
			wantErr:  "without a message (code 7)",
			wantMsgs: 0,
		},
		{
			name:     "truncated stream",
			stream:   `{"status":"ok"}` + "\n" + `{"status":"Downlo`,
			wantErr:  "reading the engine's progress stream",
			wantMsgs: 1,
		},
		{name: "empty stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			err := readJSONStream(strings.NewReader(tt.stream), func(jsonmessage.JSONMessage) { n++ })
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if n != tt.wantMsgs {
				t.Errorf("messages seen = %d, want %d", n, tt.wantMsgs)
			}
		})
	}
}

// fakeDaemon is a minimal Engine API server for the pull path.
type fakeDaemon struct {
	mu         sync.Mutex
	auth       []string
	fromImage  []string
	tags       []string
	status     int
	body       string
	apiVersion string
}

func (f *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", f.apiVersion)
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "OK")
	case strings.HasSuffix(r.URL.Path, "/images/create") && r.Method == http.MethodPost:
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("X-Registry-Auth"))
		f.fromImage = append(f.fromImage, r.URL.Query().Get("fromImage"))
		f.tags = append(f.tags, r.URL.Query().Get("tag"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if f.status != 0 && f.status != http.StatusOK {
			w.WriteHeader(f.status)
		}
		_, _ = io.WriteString(w, f.body)
	default:
		http.Error(w, `{"message":"unexpected request `+r.Method+" "+r.URL.Path+`"}`, http.StatusNotImplemented)
	}
}

func newFakeEngine(t *testing.T, f *fakeDaemon, dockerConfig string) *Engine {
	t.Helper()
	if f.apiVersion == "" {
		f.apiVersion = "1.41"
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	for _, v := range []string{"DOCKER_API_VERSION", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"} {
		t.Setenv(v, "")
	}
	e, err := New(context.Background(),
		WithClientOptions(client.WithHost("tcp://"+strings.TrimPrefix(srv.URL, "http://"))),
		WithDockerConfig(dockerConfig))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if v := e.Client().ClientVersion(); v != f.apiVersion {
		t.Fatalf("negotiated API %s, want %s", v, f.apiVersion)
	}
	return e
}

func TestPullImageMidStreamErrorAndAuth(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths":{"registry.example.com":{"username":"bob","password":"s3cret"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeDaemon{body: `{"status":"Pulling from myorg/nope","id":"1"}
{"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"abc"}
{"errorDetail":{"message":"manifest unknown: manifest unknown"},"error":"manifest unknown: manifest unknown"}
`}
	e := newFakeEngine(t, f, cfg)

	var got []engine.ImageProgress
	err := e.PullImage(context.Background(), "registry.example.com/myorg/nope", func(p engine.ImageProgress) { got = append(got, p) })
	if err == nil {
		t.Fatal("a mid-stream error must fail the pull")
	}
	if want := "pulling registry.example.com/myorg/nope:latest: manifest unknown: manifest unknown"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	want := []engine.ImageProgress{
		{ID: "1", Status: "Pulling from myorg/nope"},
		{ID: "abc", Status: "Downloading", Current: 10, Total: 100},
	}
	if !slices.Equal(got, want) {
		t.Errorf("progress = %+v, want %+v", got, want)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auth) != 1 {
		t.Fatalf("requests = %d", len(f.auth))
	}
	if f.fromImage[0] != "registry.example.com/myorg/nope" || f.tags[0] != "latest" {
		t.Errorf("pulled %s tag %s", f.fromImage[0], f.tags[0])
	}
	ac, err := registry.DecodeAuthConfig(f.auth[0])
	if err != nil {
		t.Fatal(err)
	}
	if ac.Username != "bob" || ac.Password != "s3cret" || ac.ServerAddress != "registry.example.com" {
		t.Errorf("X-Registry-Auth = %+v", ac)
	}
}

func TestPullImageSuccessWithoutCredentials(t *testing.T) {
	f := &fakeDaemon{body: `{"status":"Pulling from myorg/app","id":"2"}
{"status":"Digest: sha256:0123"}
{"status":"Status: Downloaded newer image for myorg/app:2"}
`}
	e := newFakeEngine(t, f, filepath.Join(t.TempDir(), "missing.json"))
	var n int
	if err := e.PullImage(context.Background(), "myorg/app:2", func(engine.ImageProgress) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("progress calls = %d, want 3", n)
	}
	if err := e.PullImage(context.Background(), "myorg/app:2", nil); err != nil {
		t.Fatalf("nil progress: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.auth[0] != "" {
		t.Errorf("no credentials configured, but X-Registry-Auth = %q", f.auth[0])
	}
	if f.fromImage[0] != "docker.io/myorg/app" || f.tags[0] != "2" {
		t.Errorf("pulled %s tag %s", f.fromImage[0], f.tags[0])
	}
}

func TestPullImageHTTPNotFound(t *testing.T) {
	f := &fakeDaemon{
		status: http.StatusNotFound,
		body:   `{"message":"pull access denied for myorg/nope, repository does not exist or may require 'docker login'"}`,
	}
	e := newFakeEngine(t, f, filepath.Join(t.TempDir(), "missing.json"))
	err := e.PullImage(context.Background(), "myorg/nope:1", nil)
	if !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "pulling myorg/nope:1: ") || !strings.Contains(err.Error(), "pull access denied for myorg/nope") {
		t.Errorf("error = %q", err)
	}
}

func TestPullImageBadCredentialHelper(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"credsStore":"cutover-missing-helper"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeDaemon{body: `{"status":"ok"}`}
	e := newFakeEngine(t, f, cfg)
	err := e.PullImage(context.Background(), "ghcr.io/o/app:1", nil)
	if err == nil || !strings.Contains(err.Error(), "pulling ghcr.io/o/app:1: registry credentials") {
		t.Fatalf("error = %v", err)
	}
}

func TestNewUnreachable(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	_, err := New(context.Background(), WithClientOptions(client.WithHost(host)), WithPingTimeout(5*time.Second))
	if err == nil {
		t.Fatal("expected an error")
	}
	if want := "cannot reach the Docker engine at " + host + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %q, want prefix %q", err, want)
	}
}

func TestNotFoundWrapping(t *testing.T) {
	docker := notFoundErr("No such container: x")
	err := wrap(docker, "removing container %s", "x")
	if !errors.Is(err, engine.ErrNotFound) || !errors.Is(err, docker) {
		t.Fatalf("wrap lost an error: %v", err)
	}
	if err.Error() != "removing container x: No such container: x" {
		t.Errorf("message = %q", err)
	}
	other := errors.New("boom")
	if err := wrap(other, "x"); errors.Is(err, engine.ErrNotFound) || !errors.Is(err, other) {
		t.Errorf("non-not-found error: %v", err)
	}
	if wrap(nil, "x") != nil {
		t.Error("wrap(nil) != nil")
	}
}

type notFoundErr string

func (e notFoundErr) Error() string { return string(e) }
func (notFoundErr) NotFound()       {}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		0:                       0,
		time.Millisecond:        1,
		time.Second:             1,
		1500 * time.Millisecond: 2,
		30 * time.Second:        30,
		-time.Second:            -1,
	} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestContainerConfigNetworks(t *testing.T) {
	spec := engine.ContainerSpec{
		Name:  "hello-web-1",
		Image: "app:1",
		Networks: []engine.NetworkAttachment{
			{Network: "hello_front", Aliases: []string{"web"}, IPv4Address: "172.30.0.10"},
			{Network: "hello_back", Aliases: []string{"api"}},
		},
		Ports: []engine.PortBinding{
			{ContainerPort: 80, HostPort: "8080"},
			{ContainerPort: 80, HostIP: "::1", HostPort: "8080"},
			{ContainerPort: 53, Protocol: "UDP"},
		},
		Healthcheck: &engine.Healthcheck{Test: []string{"NONE"}},
	}
	cfg, hc, nc, err := containerConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	if hc.NetworkMode != "hello_front" {
		t.Errorf("NetworkMode = %q", hc.NetworkMode)
	}
	if len(nc.EndpointsConfig) != 1 {
		t.Fatalf("create must name one network (API < 1.44), got %v", nc.EndpointsConfig)
	}
	ep := nc.EndpointsConfig["hello_front"]
	if ep == nil || !slices.Equal(ep.Aliases, []string{"web"}) || ep.IPAMConfig == nil || ep.IPAMConfig.IPv4Address != "172.30.0.10" {
		t.Errorf("endpoint = %+v", ep)
	}
	if len(cfg.ExposedPorts) != 2 || len(hc.PortBindings["80/tcp"]) != 2 || len(hc.PortBindings["53/udp"]) != 1 {
		t.Errorf("ports: exposed=%v bindings=%v", cfg.ExposedPorts, hc.PortBindings)
	}
	if cfg.Healthcheck.StartInterval != 0 {
		t.Error("StartInterval must stay unset (refused below API 1.44)")
	}

	_, hc, nc, err = containerConfig(engine.ContainerSpec{Image: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if hc.NetworkMode != "" || nc != nil {
		t.Errorf("no networks: NetworkMode=%q networking=%v (want the engine's default bridge)", hc.NetworkMode, nc)
	}
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
	slices.Sort(names)
	return names
}

func TestBuildContext(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"build/Dockerfile.app": "FROM scratch\n",
		"build/other":          "x",
		".dockerignore":        "# everything but the kept log\nsecret.txt\nbuild\n*.log\n!keep.log\n.dockerignore\n",
		"secret.txt":           "s",
		"debug.log":            "d",
		"keep.log":             "k",
		"sub/a.txt":            "a",
	})
	rc, df, err := buildContext(dir, filepath.Join("build", "Dockerfile.app"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if df != "build/Dockerfile.app" {
		t.Errorf("dockerfile = %q", df)
	}
	got := tarNames(t, rc)
	// The excluded directory itself is not archived, only the file kept
	// from it (the engine copes, as with the docker CLI's contexts).
	want := []string{".dockerignore", "build/Dockerfile.app", "keep.log", "sub", "sub/a.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("context = %q, want %q", got, want)
	}

	// Default Dockerfile name, absolute path inside the context, no .dockerignore.
	plain := t.TempDir()
	writeFiles(t, plain, map[string]string{"Dockerfile": "FROM scratch\n", "a": "a"})
	for _, name := range []string{"", filepath.Join(plain, "Dockerfile")} {
		rc, df, err := buildContext(plain, name)
		if err != nil {
			t.Fatal(err)
		}
		if df != "Dockerfile" {
			t.Errorf("dockerfile(%q) = %q", name, df)
		}
		if got := tarNames(t, rc); !slices.Equal(got, []string{"Dockerfile", "a"}) {
			t.Errorf("context = %q", got)
		}
		rc.Close()
	}

	for _, tc := range []struct{ dir, dockerfile, want string }{
		{plain, "../Dockerfile", "outside the build context"},
		{plain, "missing", "no such file"},
		{plain, ".", "is a directory"},
		{filepath.Join(plain, "nope"), "", "no such file"},
		{filepath.Join(plain, "a"), "", "not a directory"},
		{"", "", "no build context"},
	} {
		if _, _, err := buildContext(tc.dir, tc.dockerfile); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("buildContext(%q, %q) = %v, want an error containing %q", tc.dir, tc.dockerfile, err, tc.want)
		}
	}
}
