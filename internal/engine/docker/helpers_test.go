package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/cutover/cutover/internal/engine"
)

// testLabel marks everything the tests create, with the test's suffix as value.
const testLabel = "cutover.test"

// newTestEngine connects to the local engine. Integration tests fail when
// it is unreachable, unless CUTOVER_SKIP_DOCKER=1.
func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	if os.Getenv("CUTOVER_SKIP_DOCKER") == "1" {
		t.Skip("CUTOVER_SKIP_DOCKER=1: skipping a test that needs a Docker engine")
	}
	e, err := New(context.Background())
	if err != nil {
		t.Fatalf("this test needs a Docker engine (set CUTOVER_SKIP_DOCKER=1 to skip): %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// suffix returns a random lower-case suffix for unique resource names.
func suffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// testCtx is a per-test context with a generous deadline.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func cleanupContainer(t *testing.T, e *Engine, nameOrID string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		err := e.cli.ContainerRemove(ctx, nameOrID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing container %s: %v", nameOrID, err)
		}
	})
}

func cleanupNetwork(t *testing.T, e *Engine, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := e.cli.NetworkRemove(ctx, name); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing network %s: %v", name, err)
		}
	})
}

func cleanupVolume(t *testing.T, e *Engine, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := e.cli.VolumeRemove(ctx, name, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing volume %s: %v", name, err)
		}
	})
}

func cleanupImage(t *testing.T, e *Engine, ref string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		_, err := e.cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing image %s: %v", ref, err)
		}
	})
}

// cleanupImagesByLabel removes every image, dangling intermediates
// included, carrying label (key=value): a failed classic build leaves its
// finished steps behind untagged.
func cleanupImagesByLabel(t *testing.T, e *Engine, label string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		list, err := e.cli.ImageList(ctx, image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
		if err != nil {
			t.Errorf("cleanup: listing images labelled %s: %v", label, err)
			return
		}
		for _, img := range list {
			_, err := e.cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("cleanup: removing image %s: %v", img.ID, err)
			}
		}
	})
}

// testAppSource is the program inside the test image. Without arguments it
// prints five lines to stdout and five to stderr and waits for SIGTERM;
// "health" exits 0 (for HEALTHCHECK); "exit N" exits with code N.
const testAppSource = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "health":
			os.Exit(0)
		case "exit":
			code, _ := strconv.Atoi(os.Args[2])
			fmt.Println("exiting with", code)
			os.Exit(code)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	for i := 1; i <= 5; i++ {
		fmt.Printf("out %d\n", i)
		fmt.Fprintf(os.Stderr, "err %d\n", i)
	}
	<-sig
	fmt.Println("bye")
}
`

// buildTestBinary compiles the test app statically to dst.
func buildTestBinary(t *testing.T, dst string) {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module testapp\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(testAppSource), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", dst, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test app: %v\n%s", err, out)
	}
}

// writeFiles writes name → content files under dir, creating directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildTestImage builds the test app into a FROM scratch image with the
// engine's BuildImage and returns its unique tag. NoCache keeps images of
// parallel tests from sharing intermediate images that one of them removes.
func buildTestImage(t *testing.T, e *Engine) string {
	t.Helper()
	dir := t.TempDir()
	buildTestBinary(t, filepath.Join(dir, "app"))
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
	})
	sfx := suffix(t)
	tag := "cutover-test/app:" + sfx
	cleanupImage(t, e, tag)
	err := e.BuildImage(testCtx(t), engine.BuildSpec{
		ContextDir: dir,
		Tags:       []string{tag},
		Labels:     map[string]string{testLabel: sfx},
		NoCache:    true,
	}, nil)
	if err != nil {
		t.Fatalf("building the test image: %v", err)
	}
	return tag
}

// createTestNetwork creates a uniquely named bridge network for the test.
func createTestNetwork(t *testing.T, e *Engine, sfx, name string) string {
	t.Helper()
	full := "cutover-test-" + name + "-" + sfx
	cleanupNetwork(t, e, full)
	created, err := e.CreateNetwork(testCtx(t), engine.NetworkSpec{Name: full, Labels: map[string]string{testLabel: sfx}})
	if err != nil {
		t.Fatalf("creating network %s: %v", full, err)
	}
	if !created {
		t.Fatalf("network %s already existed", full)
	}
	return full
}

// waitFor polls cond until it returns true or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
