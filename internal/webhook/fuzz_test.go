package webhook

import (
	"strings"
	"testing"
)

// The fuzz targets hold every parser to its contract on any input: no
// panic, and either pushes naming a valid image (non-empty repo and tag,
// normalised) or an error wrapping one of the sentinels. `go test` runs the
// seeds; `go test -fuzz=FuzzDockerHub ./internal/webhook/` explores.

var garbageSeeds = []string{
	"", "null", "{}", "[]", `"x"`, "{", `{"a":1}{}`, "\xff\xfe{", `{"events": null}`,
}

func FuzzDockerHub(f *testing.F) {
	for _, b := range testdataFiles(f, "dockerhub") {
		f.Add(b)
	}
	for _, s := range garbageSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"push_data": {"tag": "v1", "pushed_at": 99999999999.9}, "repository": {"repo_name": "a/b"}}`))
	f.Add([]byte(`{"push_data": {"tag": "v1", "pushed_at": "1"}, "repository": {"namespace": "a", "name": "b"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseDockerHub(body)
		checkOutcome(t, one(p, err), err)
		if err == nil && p.CallbackURL != "" && hubCallback(p.CallbackURL) != p.CallbackURL {
			t.Fatalf("kept callback URL %q off docker.com", p.CallbackURL)
		}
	})
}

func FuzzRegistry(f *testing.F) {
	for _, b := range testdataFiles(f, "registry") {
		f.Add(b, "")
		f.Add(b, "localhost:5000")
	}
	for _, s := range garbageSeeds {
		f.Add([]byte(s), "")
	}
	f.Add([]byte(`{"events": [{"action": "push", "target": {"mediaType": "application/vnd.oci.image.index.v1+json", "repository": "UP", "tag": "v1"}, "request": {"host": "h"}}]}`), "")
	f.Add([]byte(`{"events": [{"action": "push", "target": {"mediaType": "application/vnd.oci.image.index.v1+json", "repository": "web", "tag": "v1"}, "request": {"host": "h:1"}}]}`), "Bad Host")
	f.Fuzz(func(t *testing.T, body []byte, host string) {
		pushes, err := ParseRegistry(RegistryEventsV1, body, host)
		checkOutcome(t, pushes, err)
	})
}

func FuzzGitHub(f *testing.F) {
	for _, b := range testdataFiles(f, "github") {
		f.Add("package", b)
		f.Add("registry_package", b)
	}
	for _, s := range garbageSeeds {
		f.Add("package", []byte(s))
	}
	f.Add("ping", []byte("{}"))
	f.Add("", []byte("{}"))
	f.Add("package", []byte(`{"action": "updated", "package": {"package_type": "container", "namespace": "A", "name": "B", "package_version": {"package_url": "::", "container_metadata": {"tag": {"name": "x"}}}}}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		p, err := ParseGitHub(event, body)
		checkOutcome(t, one(p, err), err)
	})
}

func FuzzGeneric(f *testing.F) {
	for _, b := range testdataFiles(f, "generic") {
		f.Add(b)
	}
	for _, s := range garbageSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"image": "localhost:5000/a/b:c@sha256:` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"}`))
	f.Add([]byte(`{"image": "a", "tag": "b", "digest": ""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseGeneric(body)
		checkOutcome(t, one(p, err), err)
	})
}

// FuzzVerifySignature: a signature verifies only for the body it was made
// of, and the function never panics on any header.
func FuzzVerifySignature(f *testing.F) {
	f.Add("secret", []byte("body"), "sha256=00")
	f.Add(ghVectorSecret, []byte(ghVectorBody), ghVectorSig)
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		if VerifySignature(secret, body, header) && Sign(secret, body) != "sha256="+lowerHex(strings.TrimSpace(header)) {
			t.Fatalf("header %q verified but is not the signature of the body", header)
		}
		if secret != "" && !VerifySignature(secret, body, Sign(secret, body)) {
			t.Fatal("a body's own signature does not verify")
		}
	})
}

func one(p Push, err error) []Push {
	if err != nil {
		return nil
	}
	return []Push{p}
}

// lowerHex normalises the hex part of a "sha256=<hex>" header.
func lowerHex(header string) string {
	const prefix = "sha256="
	b := []byte(header)
	for i := range b {
		if b[i] >= 'A' && b[i] <= 'F' {
			b[i] += 'a' - 'A'
		}
	}
	s := string(b)
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}
