package webhook

import (
	"testing"
)

func TestParseGeneric(t *testing.T) {
	const dig = "sha256:9d1f6bfa2a3a32a2ee4b6a43ce4c9e2d0a6f6ddc2ab6c7e3e5ae1a1b8c1c2f11"
	tests := []struct {
		desc, body string
		want       Push
	}{
		{"image, tag and digest", string(testdata(t, "generic/push.json")),
			Push{Source: SourceGeneric, Repo: "127.0.0.1:5000/web", Tag: "v2", Digest: "sha256:3a2e8954befdbd6e7eac2f10d4301a2923cd65a5f38bf80914019b55a03f78c4"}},
		{"Docker Hub short name", `{"image": "myorg/web", "tag": "1.4.2"}`,
			Push{Source: SourceGeneric, Repo: "docker.io/myorg/web", Tag: "1.4.2"}},
		{"tag inside image", `{"image": "nginx:1.27"}`,
			Push{Source: SourceGeneric, Repo: "docker.io/library/nginx", Tag: "1.27"}},
		{"tag and digest inside image", `{"image": "ghcr.io/org/app:v1@` + dig + `"}`,
			Push{Source: SourceGeneric, Repo: "ghcr.io/org/app", Tag: "v1", Digest: dig}},
		{"same tag twice", `{"image": "myorg/web:v1", "tag": "v1"}`,
			Push{Source: SourceGeneric, Repo: "docker.io/myorg/web", Tag: "v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseGeneric([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseGeneric_Errors(t *testing.T) {
	tests := []struct {
		desc, body string
		parts      []string
	}{
		{"unknown field (a typo)", `{"image": "myorg/web", "tags": "v1"}`, []string{`unknown field "tags"`}},
		{"no image", `{"tag": "v1"}`, []string{"image: missing"}},
		{"no tag", `{"image": "myorg/web"}`, []string{"tag: missing"}},
		{"only a digest", `{"image": "myorg/web", "digest": "sha256:` + "ab" + `"}`, []string{"tag: missing"}},
		{"tags disagree", `{"image": "myorg/web:v1", "tag": "v2"}`, []string{`tag "v2" differs`, "myorg/web:v1"}},
		{"bad image", `{"image": "My Org/web", "tag": "v1"}`, []string{"image:", `"My Org/web"`}},
		{"bad digest", `{"image": "myorg/web", "tag": "v1", "digest": "md5:abc"}`, []string{"digest:", `"md5:abc"`}},
		{"tag is a list", `{"image": "myorg/web", "tag": ["v1"]}`, []string{"tag", "want a string", "array"}},
		{"two objects", `{"image": "myorg/web", "tag": "v1"}{"image": "x", "tag": "y"}`, []string{"unexpected data"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseGeneric([]byte(tt.body))
			wantErr(t, err, ErrBadPayload, tt.parts...)
		})
	}
}
