package registry

import "testing"

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		desc, in string
		want     Ref
	}{
		{"docker hub official image", "nginx",
			Ref{Host: "docker.io", Endpoint: "https://registry-1.docker.io", Repo: "library/nginx", Tag: "latest"}},
		{"docker hub user image", "docker.io/myorg/web:1.4.2",
			Ref{Host: "docker.io", Endpoint: "https://registry-1.docker.io", Repo: "myorg/web", Tag: "1.4.2"}},
		{"other registry is https", "ghcr.io/o/app:v1",
			Ref{Host: "ghcr.io", Endpoint: "https://ghcr.io", Repo: "o/app", Tag: "v1"}},
		{"loopback ip is plain http", "127.0.0.1:5000/web:v2",
			Ref{Host: "127.0.0.1:5000", Endpoint: "http://127.0.0.1:5000", Repo: "web", Tag: "v2"}},
		{"any 127/8 address", "127.0.0.2:5000/web:v2",
			Ref{Host: "127.0.0.2:5000", Endpoint: "http://127.0.0.2:5000", Repo: "web", Tag: "v2"}},
		{"localhost is plain http", "localhost:5000/team/web",
			Ref{Host: "localhost:5000", Endpoint: "http://localhost:5000", Repo: "team/web", Tag: "latest"}},
		{"ipv6 loopback", "[::1]:5000/web:v1",
			Ref{Host: "[::1]:5000", Endpoint: "http://[::1]:5000", Repo: "web", Tag: "v1"}},
		{"private address is https", "10.0.0.5:5000/web:v1",
			Ref{Host: "10.0.0.5:5000", Endpoint: "https://10.0.0.5:5000", Repo: "web", Tag: "v1"}},
		{"tag and digest", "127.0.0.1:5000/web:v2@sha256:0123456789012345678901234567890123456789012345678901234567890123",
			Ref{Host: "127.0.0.1:5000", Endpoint: "http://127.0.0.1:5000", Repo: "web", Tag: "v2",
				Digest: "sha256:0123456789012345678901234567890123456789012345678901234567890123"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseRef(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseRef(%q) =\n %+v\nwant\n %+v", tc.in, got, tc.want)
			}
		})
	}
	if _, err := ParseRef("Web:v1"); err == nil {
		t.Error("ParseRef accepted an upper-case repository")
	}
}
