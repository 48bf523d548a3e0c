package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// writeFile writes content to dir/name (creating parent directories) and
// returns the file's path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// noEnv is an empty, non-nil environment: it keeps the process environment
// (COMPOSE_FILE, COMPOSE_PROFILES … of whoever runs the tests) out of Load.
var noEnv = []string{}

func mustLoad(t *testing.T, o LoadOptions) *Stack {
	t.Helper()
	if o.Env == nil {
		o.Env = noEnv
	}
	st, err := Load(context.Background(), o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return st
}

// loadYAML writes yaml as compose.yaml in a fresh directory and loads it
// with -f and an empty environment.
func loadYAML(t *testing.T, yaml string) *Stack {
	t.Helper()
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", yaml)
	return mustLoad(t, LoadOptions{Files: []string{f}})
}

// loadErr loads and returns the error, failing the test when there is none.
func loadErr(t *testing.T, o LoadOptions) error {
	t.Helper()
	if o.Env == nil {
		o.Env = noEnv
	}
	st, err := Load(context.Background(), o)
	if err == nil {
		t.Fatalf("Load succeeded (services %v), want an error", st.ServiceNames())
	}
	return err
}

// imagesFor resolves every service of st to its compose image with a fake,
// per-service image ID.
func imagesFor(st *Stack) map[string]ResolvedImage {
	images := map[string]ResolvedImage{}
	for name, svc := range st.Project.Services {
		ref := svc.Image
		if ref == "" {
			ref = DefaultImageName(st.Name, name)
		}
		images[name] = ResolvedImage{Ref: ref, ID: "sha256:id-of-" + name}
	}
	return images
}

func mustDesired(t *testing.T, st *Stack, release int) strategies.Desired {
	t.Helper()
	d, err := st.Desired(release, imagesFor(st))
	if err != nil {
		t.Fatalf("Desired: %v", err)
	}
	return d
}

func service(t *testing.T, d strategies.Desired, name string) strategies.Service {
	t.Helper()
	for _, s := range d.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("service %q not in Desired (have %v)", name, serviceNames(d))
	return strategies.Service{}
}

func serviceNames(d strategies.Desired) []string {
	var names []string
	for _, s := range d.Services {
		names = append(names, s.Name)
	}
	return names
}

// wantErrContains checks that err's message contains every part.
func wantErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}
