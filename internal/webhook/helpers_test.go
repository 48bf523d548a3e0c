package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// testdata reads a payload file under testdata/.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading test payload: %v", err)
	}
	return b
}

// testdataFiles lists the payload files of one source, for fuzz seeds.
func testdataFiles(t testing.TB, dir string) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no test payloads in testdata/%s: %v", dir, err)
	}
	var out [][]byte
	for _, n := range names {
		out = append(out, testdata(t, strings.TrimPrefix(n, "testdata/")))
	}
	return out
}

// wantErr checks that err wraps sentinel and mentions every part.
func wantErr(t *testing.T, err, sentinel error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %q does not wrap %v", err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// checkOutcome is the contract every parser keeps, whatever the input: a
// push that names a usable image, or an error a handler can answer (one of
// the sentinels, never a 500).
func checkOutcome(t *testing.T, pushes []Push, err error) {
	t.Helper()
	if err != nil {
		if len(pushes) != 0 {
			t.Fatalf("got pushes %v and an error %v", pushes, err)
		}
		if code := StatusCode(err); code == 500 {
			t.Fatalf("error %q wraps no sentinel", err)
		}
		return
	}
	if len(pushes) == 0 {
		t.Fatal("no push and no error")
	}
	for _, p := range pushes {
		if p.Repo == "" || p.Tag == "" {
			t.Fatalf("push %+v lacks repo or tag", p)
		}
		named, perr := reference.ParseNormalizedNamed(p.Image())
		if perr != nil {
			t.Fatalf("push image %q does not parse: %v", p.Image(), perr)
		}
		if reference.TrimNamed(named).Name() != p.Repo {
			t.Fatalf("push repo %q is not normalised (%q)", p.Repo, named.Name())
		}
		if p.Digest != "" && !digestRe.MatchString(p.Digest) {
			t.Fatalf("push digest %q is not a digest", p.Digest)
		}
	}
}
