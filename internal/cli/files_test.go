package cli_test

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeContext writes a build context: the test app binary and a Dockerfile
// that takes the version as a build arg, FROM scratch (nothing to pull).
func writeContext(t *testing.T, dir, binary string) {
	t.Helper()
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testapp"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nARG VERSION=dev\nENV TESTAPP_VERSION=$VERSION\nCOPY testapp /testapp\nENTRYPOINT [\"/testapp\"]\n")
}
