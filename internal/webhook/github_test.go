package webhook

import (
	"strings"
	"testing"
	"time"
)

const ghIndexDigest = "sha256:f06bcb1bf6bb199c626be852bc35fd5c6a558a3079e718f4db8bed6e250592ae"

func TestParseGitHub(t *testing.T) {
	want := Push{Source: SourceGitHub, Repo: "ghcr.io/myorg/web", Tag: "1.4.2", Digest: ghIndexDigest,
		PushedAt: time.Date(2024, 11, 22, 11, 0, 4, 0, time.UTC)}
	for _, tt := range []struct{ event, file string }{
		{"package", "github/package_published.json"},
		{"registry_package", "github/registry_package_published.json"},
	} {
		t.Run(tt.event, func(t *testing.T) {
			got, err := ParseGitHub(tt.event, testdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// GitHub sends a push as both a package and a registry_package event when
// the hook subscribes to both: one deploy.
func TestGitHub_BothEventKindsAreOnePush(t *testing.T) {
	a, errA := ParseGitHub("package", testdata(t, "github/package_published.json"))
	b, errB := ParseGitHub("registry_package", testdata(t, "github/registry_package_published.json"))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	d := NewDedupe(time.Minute, 10)
	if d.Seen(a) || !d.Seen(b) {
		t.Errorf("keys %q and %q: want the second to be a duplicate", a.Key(), b.Key())
	}
}

func TestParseGitHub_Fallbacks(t *testing.T) {
	body := strings.Replace(string(testdata(t, "github/package_published.json")),
		`"package_url": "ghcr.io/myorg/web:1.4.2"`, `"package_url": ""`, 1)
	got, err := ParseGitHub("package", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got.Repo != "ghcr.io/myorg/web" {
		t.Errorf("repo %q, want ghcr.io/myorg/web from namespace MyOrg and name web", got.Repo)
	}
}

func TestParseGitHub_Ignored(t *testing.T) {
	published := string(testdata(t, "github/package_published.json"))
	tests := []struct {
		desc, event, body string
		parts             []string
	}{
		{"untagged manifest of a multi-arch push", "package", string(testdata(t, "github/package_untagged.json")), []string{"tag.name is empty", "untagged"}},
		{"npm package", "package", string(testdata(t, "github/package_npm.json")), []string{`package_type "npm"`, "only container"}},
		{"ping", "ping", string(testdata(t, "github/ping.json")), []string{"ping"}},
		{"another event", "push", `{"ref": "refs/heads/main"}`, []string{`event "push"`}},
		{"deleted version", "package", strings.Replace(published, `"action": "published"`, `"action": "deleted"`, 1), []string{`action "deleted"`}},
		{"legacy docker package", "package", strings.Replace(published, `"package_type": "CONTAINER"`, `"package_type": "docker"`, 1), []string{`"docker"`}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseGitHub(tt.event, []byte(tt.body))
			wantErr(t, err, ErrIgnored, tt.parts...)
		})
	}
}

func TestParseGitHub_Errors(t *testing.T) {
	published := string(testdata(t, "github/package_published.json"))
	tests := []struct {
		desc, event, body string
		parts             []string
	}{
		{"no event header", "", published, []string{"X-GitHub-Event header: missing"}},
		{"event kind and body disagree", "registry_package", published, []string{"registry_package: missing"}},
		{"no action", "package", strings.Replace(published, `"action": "published",`, ``, 1), []string{"action: missing"}},
		{"no version", "package", `{"action": "published", "package": {"package_type": "container"}}`, []string{"package.package_version: missing"}},
		{"tag is an object", "package", `{"action": "published", "package": {"package_type": "container", "package_version": {"container_metadata": {"tag": {"name": {}}}}}}`, []string{"package.package_version.container_metadata.tag.name", "want a string"}},
		{"bad digest", "package", strings.Replace(published, `"digest": "`+ghIndexDigest+`"`, `"digest": "sha256:abc"`, 1), []string{"container_metadata.tag.digest", `"sha256:abc"`}},
		{"no repository at all", "package", `{"action": "published", "package": {"package_type": "container", "package_version": {"container_metadata": {"tag": {"name": "v1"}}}}}`, []string{"package_url: missing", "namespace"}},
		{"garbage", "package", "<html>", []string{"JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseGitHub(tt.event, []byte(tt.body))
			wantErr(t, err, ErrBadPayload, tt.parts...)
		})
	}
}
