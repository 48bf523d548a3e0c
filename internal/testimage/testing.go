package testimage

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// SkipEnv names the environment variable that, set to "1", makes ForTest
// skip the test instead of failing it when tests must run without Docker.
const SkipEnv = "CUTOVER_SKIP_DOCKER"

// ForTest returns a Builder for an integration test, closed when the test
// ends. When the engine does not answer the test fails, or is skipped if
// CUTOVER_SKIP_DOCKER=1.
func ForTest(tb testing.TB) *Builder {
	tb.Helper()
	if os.Getenv(SkipEnv) == "1" {
		tb.Skipf("%s=1: skipping a test that needs the Docker engine", SkipEnv)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatalf("docker client: %v (set %s=1 to skip)", err, SkipEnv)
	}
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		tb.Fatalf("docker engine unreachable: %v (set %s=1 to skip)", err, SkipEnv)
	}
	b := New(cli)
	b.closer = cli
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("closing test image builder: %v", err)
		}
	})
	return b
}

// BuildForTest builds an image, failing tb on error, and removes it (by
// ID, so rebuilding a tag leaks nothing) when the test ends. It returns the
// image ID.
func (b *Builder) BuildForTest(tb testing.TB, opts Options) string {
	tb.Helper()
	id, err := b.Build(tb.Context(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// tb.Context is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Remove(ctx, id); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	})
	return id
}
