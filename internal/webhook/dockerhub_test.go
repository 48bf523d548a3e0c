package webhook

import (
	"strings"
	"testing"
	"time"
)

func TestParseDockerHub(t *testing.T) {
	tests := []struct {
		desc, file string
		want       Push
	}{
		{
			desc: "integer pushed_at",
			file: "dockerhub/push.json",
			want: Push{Source: SourceDockerHub, Repo: "docker.io/myorg/web", Tag: "1.4.2",
				PushedAt:    time.Date(2024, 11, 22, 8, 0, 0, 0, time.UTC),
				CallbackURL: "https://registry.hub.docker.com/u/myorg/web/hook/3d1c2a4bb45e4f6a9f0e8b7c6d5e4f3a/"},
		},
		{
			desc: "float pushed_at in exponent notation (seed 001's qa tag)",
			file: "dockerhub/push_float.json",
			want: Push{Source: SourceDockerHub, Repo: "docker.io/myorg/foo", Tag: "qa",
				PushedAt:    time.Date(2024, 11, 22, 8, 0, 0, 0, time.UTC),
				CallbackURL: "https://registry.hub.docker.com/u/myorg/foo/hook/21a4b7c2d9e04f1b8a6c5d4e3f2a1b0c/"},
		},
		{
			desc: "fractional pushed_at keeps the fraction",
			file: "dockerhub/multiarch_1.json",
			want: Push{Source: SourceDockerHub, Repo: "docker.io/myorg/web", Tag: "v1",
				PushedAt:    time.Date(2024, 11, 22, 9, 0, 0, 250_000_000, time.UTC),
				CallbackURL: "https://registry.hub.docker.com/u/myorg/web/hook/9f8e7d6c5b4a4938a7b6c5d4e3f2a1b1/"},
		},
		{
			desc: "a callback URL off docker.com is dropped, the push kept",
			file: "dockerhub/foreign_callback.json",
			want: Push{Source: SourceDockerHub, Repo: "docker.io/myorg/web", Tag: "latest",
				PushedAt: time.Date(2024, 11, 22, 8, 0, 0, 0, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseDockerHub(testdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDockerHub_RepoFromNamespaceAndName(t *testing.T) {
	got, err := ParseDockerHub([]byte(`{"push_data": {"tag": "v3"}, "repository": {"namespace": "library", "name": "nginx"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Repo != "docker.io/library/nginx" || got.Tag != "v3" || !got.PushedAt.IsZero() {
		t.Errorf("got %+v, want docker.io/library/nginx:v3 without a push time", got)
	}
}

func TestParseDockerHub_Errors(t *testing.T) {
	tests := []struct {
		desc, body string
		sentinel   error
		parts      []string
	}{
		{"garbage", "hello there", ErrBadPayload, []string{"JSON object"}},
		{"empty", "  \n", ErrBadPayload, []string{"empty body"}},
		{"an array", `[{"push_data": {}}]`, ErrBadPayload, []string{"JSON object"}},
		{"truncated", `{"push_data": {"tag": "v1"`, ErrBadPayload, []string{"truncated JSON"}},
		{"syntax error", `{"push_data": {"tag": v1}}`, ErrBadPayload, []string{"invalid JSON at byte"}},
		{"trailing data", `{"push_data": {"tag": "v1"}, "repository": {"repo_name": "a/b"}} {}`, ErrBadPayload, []string{"unexpected data after the JSON object"}},
		{"no push_data", `{"repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data: missing"}},
		{"no repository", `{"push_data": {"tag": "v1"}}`, ErrBadPayload, []string{"repository: missing"}},
		{"no repo name", `{"push_data": {"tag": "v1"}, "repository": {"namespace": "myorg"}}`, ErrBadPayload, []string{"repository.repo_name: missing"}},
		{"no tag", `{"push_data": {"pushed_at": 1}, "repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data.tag: missing"}},
		{"tag is a number", `{"push_data": {"tag": 1}, "repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data.tag", "want a string", "number"}},
		{"bad tag", `{"push_data": {"tag": "-v1"}, "repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data.tag", `"-v1"`, "not a valid tag"}},
		{"pushed_at is a string", `{"push_data": {"tag": "v1", "pushed_at": "yesterday"}, "repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data.pushed_at", "want a number"}},
		{"pushed_at negative", `{"push_data": {"tag": "v1", "pushed_at": -5}, "repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data.pushed_at", "not a Unix time"}},
		{"pushed_at absurd", `{"push_data": {"tag": "v1", "pushed_at": 1e300}, "repository": {"repo_name": "myorg/web"}}`, ErrBadPayload, []string{"push_data.pushed_at"}},
		{"upper-case repository", `{"push_data": {"tag": "v1"}, "repository": {"repo_name": "MyOrg/Web"}}`, ErrBadPayload, []string{"repository.repo_name", `"MyOrg/Web"`}},
		{"repo_name and namespace/name differ", `{"push_data": {"tag": "v1"}, "repository": {"repo_name": "myorg/web", "namespace": "other", "name": "web"}}`, ErrBadPayload, []string{"repository.repo_name", "other/web", "differ"}},
		{"repo with a tag", `{"push_data": {"tag": "v1"}, "repository": {"repo_name": "myorg/web:v2"}}`, ErrBadPayload, []string{"without tag or digest"}},
		{"cosign signature tag", `{"push_data": {"tag": "sha256-` + strings.Repeat("ab", 32) + `.sig"}, "repository": {"repo_name": "myorg/web"}}`, ErrIgnored, []string{"signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseDockerHub([]byte(tt.body))
			wantErr(t, err, tt.sentinel, tt.parts...)
		})
	}
}

// A multi-arch push makes Hub call the hook several times for one tag; only
// the first counts, and a later push of the same tag counts again.
func TestDockerHub_MultiArchDuplicates(t *testing.T) {
	d := NewDedupe(time.Hour, 100)
	var acted []string
	for _, f := range []string{"multiarch_1", "multiarch_2", "multiarch_3", "next_push"} {
		p, err := ParseDockerHub(testdata(t, "dockerhub/"+f+".json"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !d.Seen(p) {
			acted = append(acted, f)
		}
	}
	want := []string{"multiarch_1", "next_push"}
	if strings.Join(acted, ",") != strings.Join(want, ",") {
		t.Errorf("acted on %v, want %v", acted, want)
	}
}
