package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestRegistryNotifications_RealRegistry runs Debian's docker-registry (CNCF
// distribution 2.8) with notifications pointed at a Receiver, pushes a
// single-platform image and a multi-arch OCI index over the registry API,
// and checks that exactly the two tagged pushes come out, named as a
// compose file would name them (127.0.0.1:<port>/web).
func TestRegistryNotifications_RealRegistry(t *testing.T) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("docker-registry is not installed: it comes from Debian's docker-registry package " +
			"(apt-get install docker-registry; scripts/deps.sh installs the test servers)")
	}
	const auth = "Bearer registry-notify-secret"
	rc := Receiver{RegistryAuthorization: auth}
	pushes := make(chan Push, 64)
	var mu sync.Mutex
	var problems []string
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps, err := rc.Registry(w, r)
		w.WriteHeader(StatusCode(err))
		if err != nil && !errors.Is(err, ErrIgnored) {
			mu.Lock()
			problems = append(problems, err.Error())
			mu.Unlock()
		}
		for _, p := range ps {
			pushes <- p
		}
	}))
	t.Cleanup(hooks.Close)

	base, logs := startRegistry(t, bin, hooks.URL+"/hooks/registry", auth)

	cfg := pushBlob(t, base, "web", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	layer := pushBlob(t, base, "web", []byte("not really a tar, the registry does not look"))
	v1 := putManifest(t, base, "web", "v1", "application/vnd.docker.distribution.manifest.v2+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": cfg.size, "digest": cfg.digest},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.size, "digest": layer.digest}},
	})
	var platforms []any
	for _, arch := range []string{"amd64", "arm64"} {
		m := putManifest(t, base, "web", "", "application/vnd.oci.image.manifest.v1+json", map[string]any{
			"schemaVersion": 2,
			"mediaType":     "application/vnd.oci.image.manifest.v1+json",
			"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "size": cfg.size, "digest": cfg.digest},
			"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": layer.size, "digest": layer.digest}},
			"annotations":   map[string]string{"arch": arch},
		})
		platforms = append(platforms, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json",
			"size": m.size, "digest": m.digest, "platform": map[string]string{"architecture": arch, "os": "linux"}})
	}
	index := putManifest(t, base, "web", "1.4.2", "application/vnd.oci.image.index.v1+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     platforms,
	})

	repo := "127.0.0.1:" + mustPort(t, base) + "/web"
	want := map[string]string{"v1": v1.digest, "1.4.2": index.digest}
	got := map[string]Push{}
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case p := <-pushes:
			if _, ok := want[p.Tag]; !ok {
				t.Fatalf("unexpected push %+v (untagged manifests must not count)", p)
			}
			if _, dup := got[p.Tag]; dup {
				t.Fatalf("tag %s notified twice", p.Tag)
			}
			got[p.Tag] = p
		case <-deadline:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("registry notified %v, want tags v1 and 1.4.2; errors %v; registry log:\n%s", got, problems, logs.String())
		}
	}
	for tag, digest := range want {
		p := got[tag]
		if p.Source != SourceRegistry || p.Repo != repo || p.Digest != digest || p.PushedAt.IsZero() {
			t.Errorf("push of %s = %+v, want repo %s, digest %s and a time", tag, p, repo, digest)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("notifications refused: %v", problems)
	}
}

// startRegistry runs docker-registry on a free loopback port, notifying
// hookURL with the given Authorization header, and returns its base URL.
func startRegistry(t *testing.T, bin, hookURL, auth string) (string, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  secret: test-only
notifications:
  endpoints:
    - name: cutover
      url: %s
      headers:
        Authorization: [%q]
      timeout: 2s
      threshold: 3
      backoff: 100ms
`, filepath.Join(dir, "data"), addr, hookURL, auth)
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, &logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", base, err, logs.String())
		}
	}
}

type descriptor struct {
	digest string
	size   int
}

// pushBlob uploads content in one piece (POST then PUT ?digest=).
func pushBlob(t *testing.T, base, repo string, content []byte) descriptor {
	t.Helper()
	sum := sha256.Sum256(content)
	d := descriptor{"sha256:" + hex.EncodeToString(sum[:]), len(content)}
	resp, err := http.Post(base+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("starting a blob upload: %s", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("blob upload without a location: %v", err)
	}
	q := loc.Query()
	q.Set("digest", d.digest)
	loc.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(content))
	req.Header.Set("Content-Type", "application/octet-stream")
	do(t, req, http.StatusCreated)
	return d
}

// putManifest stores a manifest under tag, or under its digest when tag is
// empty (an untagged push, as for the platforms of a multi-arch image).
func putManifest(t *testing.T, base, repo, tag, mediaType string, manifest any) descriptor {
	t.Helper()
	b, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	d := descriptor{"sha256:" + hex.EncodeToString(sum[:]), len(b)}
	ref := tag
	if ref == "" {
		ref = d.digest
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(b))
	req.Header.Set("Content-Type", mediaType)
	do(t, req, http.StatusCreated)
	return d
}

func do(t *testing.T, req *http.Request, want int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, body)
	}
}

func mustPort(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}
