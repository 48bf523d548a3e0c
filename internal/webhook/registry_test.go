package webhook

import (
	"strings"
	"testing"
	"time"
)

func TestParseRegistry(t *testing.T) {
	tests := []struct {
		desc, file, contentType, host string
		want                          []Push
	}{
		{
			desc:        "docker push: blobs, the tagged manifest, a pull",
			file:        "registry/push_manifest.json",
			contentType: RegistryEventsV1,
			want: []Push{{Source: SourceRegistry, Repo: "127.0.0.1:5000/web", Tag: "v1",
				Digest:   "sha256:88c7275ef3ef13f6eb8bf6a201c972557ab952d4d6ebe115ca80d40a1c9b64c3",
				PushedAt: time.Date(2024, 11, 22, 8, 0, 0, 404506000, time.UTC)}},
		},
		{
			desc:        "multi-arch OCI push: only the tagged index counts",
			file:        "registry/push_oci_index.json",
			contentType: RegistryEventsV1 + "; charset=utf-8",
			want: []Push{{Source: SourceRegistry, Repo: "registry.example.com/myorg/web", Tag: "1.4.2",
				Digest:   "sha256:1bc04b5291c26a46d918139138b992d2de976d6851d0893b0476b85bfbdfc6e6",
				PushedAt: time.Date(2024, 11, 22, 9, 30, 3, 123456789, time.UTC)}},
		},
		{
			desc:        "registry 3 envelope (v2 media type, references, a zone offset)",
			file:        "registry/push_v3.json",
			contentType: RegistryEventsV2,
			want: []Push{{Source: SourceRegistry, Repo: "registry.internal:5443/team/api", Tag: "2.0.0-rc.1",
				Digest:   "sha256:e1198a225da7c854112f8701ec8cf33fee5ccb14c09819169ed42a6857f4bea4",
				PushedAt: time.Date(2025, 6, 1, 10, 0, 0, 500_000_000, time.UTC)}},
		},
		{
			desc:        "a configured host replaces request.host",
			file:        "registry/push_manifest.json",
			contentType: "application/json",
			host:        "localhost:5000",
			want: []Push{{Source: SourceRegistry, Repo: "localhost:5000/web", Tag: "v1",
				Digest:   "sha256:88c7275ef3ef13f6eb8bf6a201c972557ab952d4d6ebe115ca80d40a1c9b64c3",
				PushedAt: time.Date(2024, 11, 22, 8, 0, 0, 404506000, time.UTC)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseRegistry(tt.contentType, testdata(t, tt.file), tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d pushes %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("push %d:\ngot  %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseRegistry_NothingToDeploy(t *testing.T) {
	_, err := ParseRegistry(RegistryEventsV1, testdata(t, "registry/untagged.json"), "")
	wantErr(t, err, ErrIgnored, "no tagged manifest push among 3 events", "blob push: 1", "pull: 1", "untagged manifest push: 1")
	if code := StatusCode(err); code != 200 {
		t.Errorf("status %d, want 200 so the registry does not retry", code)
	}
}

func TestParseRegistry_BadEventSkipped(t *testing.T) {
	const good = `{"action": "push", "target": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:` +
		"1bc04b5291c26a46d918139138b992d2de976d6851d0893b0476b85bfbdfc6e6" + `", "repository": "web", "tag": "v2"}, "request": {"host": "127.0.0.1:5000"}}`
	const badTag = `{"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:` +
		"1bc04b5291c26a46d918139138b992d2de976d6851d0893b0476b85bfbdfc6e6" + `", "repository": "web", "tag": ".v2"}, "request": {"host": "127.0.0.1:5000"}}`
	const noHost = `{"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "web", "tag": "v3"}, "request": {}}`

	pushes, err := ParseRegistry(RegistryEventsV1, []byte(`{"events": [`+badTag+`, `+good+`]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pushes) != 1 || pushes[0].Tag != "v2" {
		t.Errorf("got %v, want only the good event's push", pushes)
	}

	_, err = ParseRegistry(RegistryEventsV1, []byte(`{"events": [`+badTag+`, `+noHost+`]}`), "")
	wantErr(t, err, ErrIgnored, `events[0].target.tag: ".v2" is not a valid tag`, "events[1].request.host: missing")
}

func TestParseRegistry_Errors(t *testing.T) {
	tests := []struct {
		desc, contentType, body string
		parts                   []string
	}{
		{"form content type", "application/x-www-form-urlencoded", `{"events": []}`, []string{"Content-Type", RegistryEventsV1, RegistryEventsV2, "application/json"}},
		{"no content type", "", `{"events": []}`, []string{"Content-Type"}},
		{"not an envelope", RegistryEventsV1, `{"push_data": {"tag": "v1"}}`, []string{"events: missing"}},
		{"events is an object", RegistryEventsV1, `{"events": {"action": "push"}}`, []string{"events", "want an array"}},
		{"event action is a number", RegistryEventsV1, `{"events": [{"action": 1}]}`, []string{"events.action", "want a string"}},
		{"garbage", RegistryEventsV1, "\x00\x01\x02", []string{"JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseRegistry(tt.contentType, []byte(tt.body), "")
			wantErr(t, err, ErrBadPayload, tt.parts...)
		})
	}
}

// A registry retries an envelope until it is answered 2xx: the same push
// arrives again with the same key.
func TestRegistry_RetryIsDuplicate(t *testing.T) {
	d := NewDedupe(0, 0)
	body := testdata(t, "registry/push_manifest.json")
	var acted int
	for range 3 {
		pushes, err := ParseRegistry(RegistryEventsV1, body, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pushes {
			if !d.Seen(p) {
				acted++
			}
		}
	}
	if acted != 1 {
		t.Errorf("acted on %d pushes, want 1", acted)
	}
}

// The registry host override must be what an image reference names as its
// registry: anything else would turn every notification into an unreadable
// event, or into a push of a Docker Hub repository.
func TestCheckRegistryHost(t *testing.T) {
	for _, host := range []string{"", "127.0.0.1:5000", "registry.example.com", "registry.example.com:443", "localhost", "localhost:5000", "[::1]:5000", "ghcr.io"} {
		if err := CheckRegistryHost(host); err != nil {
			t.Errorf("CheckRegistryHost(%q): %v, want nil", host, err)
		}
	}
	for host, part := range map[string]string{
		"https://127.0.0.1:47500": "host[:port]",
		"http://bad host":         "host[:port]",
		"127.0.0.1:5000/":         "host[:port]",
		"127.0.0.1:5000/team":     "host[:port]",
		"user@registry.example":   "host[:port]",
		"registry":                "Docker Hub",
		"my_registry":             "host[:port]",
	} {
		err := CheckRegistryHost(host)
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("CheckRegistryHost(%q) = %v, want an error saying %q", host, err, part)
		}
	}
}
