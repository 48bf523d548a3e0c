package testimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerfile(t *testing.T) {
	got, err := Dockerfile(Options{
		Tag:         "x:1",
		Version:     "v2",
		Env:         map[string]string{"TESTAPP_HEALTH": "fail", "TESTAPP_VERSION": "ignored"},
		Healthcheck: true,
		Labels:      map[string]string{"team": `a "quoted" $value \ here`},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `FROM scratch
ENTRYPOINT ["/testapp"]
EXPOSE 8080
LABEL cutover.testimage="true"
HEALTHCHECK --interval=250ms --timeout=2s --retries=3 CMD ["/testapp","-probe"]
COPY testapp /testapp
ENV TESTAPP_HEALTH="fail" TESTAPP_VERSION="v2"
LABEL team="a \"quoted\" \$value \\ here"
`
	if got != want {
		t.Errorf("Dockerfile:\n%s\nwant:\n%s", got, want)
	}
}

func TestDockerfileMinimal(t *testing.T) {
	got, err := Dockerfile(Options{Tag: "x:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"syntax", "HEALTHCHECK", "ENV"} {
		if strings.Contains(got, bad) {
			t.Errorf("minimal Dockerfile contains %q:\n%s", bad, got)
		}
	}
}

func TestDockerfileRejectsBadInput(t *testing.T) {
	for _, opts := range []Options{
		{Env: map[string]string{"A B": "x"}},
		{Env: map[string]string{"": "x"}},
		{Env: map[string]string{"A": "line\nbreak"}},
		{Labels: map[string]string{"k=v": "x"}},
	} {
		if _, err := Dockerfile(opts); err == nil {
			t.Errorf("Dockerfile(%+v) succeeded, want an error", opts)
		}
	}
}

func TestReadMessages(t *testing.T) {
	ok := `{"stream":"Step 1/4 : FROM scratch\n"}
{"aux":{"ID":"sha256:abc"}}
{"status":"sha256:abc"}
`
	if err := readMessages(strings.NewReader(ok)); err != nil {
		t.Errorf("readMessages(ok) = %v", err)
	}

	failed := `{"stream":"Step 1/4 : FROM scratch\n"}
{"errorDetail":{"message":"COPY failed: file not found"},"error":"COPY failed: file not found"}
{"stream":"never read\n"}
`
	if err := readMessages(strings.NewReader(failed)); err == nil || !strings.Contains(err.Error(), "COPY failed") {
		t.Errorf("readMessages(failed) = %v, want COPY failed", err)
	}

	if err := readMessages(strings.NewReader(`{"stream":`)); err == nil {
		t.Error("readMessages(truncated) succeeded, want an error")
	}
}

func TestWriteContext(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fake-binary")
	if err := os.WriteFile(bin, []byte("binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ctx")
	if err := WriteContext(dir, bin, Options{Version: "v3"}); err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil || !strings.Contains(string(df), `ENV TESTAPP_VERSION="v3"`) {
		t.Errorf("Dockerfile = %q, %v", df, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "testapp"))
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Size() != int64(len("binary")) {
		t.Errorf("testapp = %v, %v; want 6 bytes, mode 0755", fi, err)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testapp", "main.go")); err != nil {
		t.Errorf("module root %s has no internal/testapp: %v", root, err)
	}
}
