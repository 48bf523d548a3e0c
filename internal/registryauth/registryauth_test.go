package registryauth

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// fakeHelper installs docker-credential-<name> on PATH. It answers from a
// table of server URL → JSON and logs every server URL it was asked for.
func fakeHelper(t *testing.T, name string, answers map[string]string) (logFile string) {
	t.Helper()
	dir := t.TempDir()
	logFile = filepath.Join(dir, "requests.log")
	var sb strings.Builder
	sb.WriteString("#!/bin/sh\n")
	sb.WriteString("[ \"$1\" = get ] || { echo \"unsupported $1\" >&2; exit 2; }\n")
	sb.WriteString("read -r server\n")
	sb.WriteString("echo \"$server\" >> '" + logFile + "'\n")
	sb.WriteString("case \"$server\" in\n")
	for server, answer := range answers {
		sb.WriteString("'" + server + "') printf '%s' '" + answer + "' ;;\n")
	}
	sb.WriteString("*) echo 'credentials not found in native keychain'; exit 1 ;;\n")
	sb.WriteString("esac\n")
	script := filepath.Join(dir, "docker-credential-"+name)
	if err := os.WriteFile(script, []byte(sb.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return logFile
}

func TestLoadMissingFile(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "nope", "config.json"))
	if err != nil {
		t.Fatalf("Load missing file: %v", err)
	}
	ac, err := c.Resolve(context.Background(), "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if !IsEmpty(ac) {
		t.Fatalf("expected no credentials, got %+v", ac)
	}
	if ac.ServerAddress != DockerHubServer {
		t.Fatalf("ServerAddress = %q", ac.ServerAddress)
	}
}

func TestLoadInvalidJSON(t *testing.T) {
	if _, err := Load(writeConfig(t, "{not json")); err == nil {
		t.Fatal("expected a parse error")
	}
}

func TestLoadDefaultUsesDockerConfigEnv(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"auths":{"ghcr.io":{"auth":"` + b64("env:pw") + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	if got, want := DefaultPath(), filepath.Join(dir, "config.json"); got != want {
		t.Fatalf("DefaultPath = %q, want %q", got, want)
	}
	c, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	ac, err := c.Resolve(context.Background(), "ghcr.io/o/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if ac.Username != "env" || ac.Password != "pw" {
		t.Fatalf("got %+v", ac)
	}
}

func TestLoadDefaultHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("HOME", home)
	if got, want := DefaultPath(), filepath.Join(home, ".docker", "config.json"); got != want {
		t.Fatalf("DefaultPath = %q, want %q", got, want)
	}
	c, err := LoadDefault()
	if err != nil {
		t.Fatalf("missing default config must not be an error: %v", err)
	}
	if len(c.Auths) != 0 {
		t.Fatalf("expected no auths, got %v", c.Auths)
	}
}

func TestRegistryHost(t *testing.T) {
	for ref, want := range map[string]string{
		"nginx":                     "docker.io",
		"myorg/app:1":               "docker.io",
		"docker.io/library/nginx":   "docker.io",
		"index.docker.io/myorg/app": "docker.io",
		"ghcr.io/o/app:1":           "ghcr.io",
		"localhost:5000/app":        "localhost:5000",
		"127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64): "127.0.0.1:5000",
	} {
		got, err := RegistryHost(ref)
		if err != nil {
			t.Errorf("RegistryHost(%q): %v", ref, err)
			continue
		}
		if got != want {
			t.Errorf("RegistryHost(%q) = %q, want %q", ref, got, want)
		}
	}
	if _, err := RegistryHost("bad ref//x"); err == nil {
		t.Error("expected an error for an invalid reference")
	}
}

func TestResolveAuths(t *testing.T) {
	cfg := `{
	  "auths": {
	    "https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hub:pass") + `"},
	    "ghcr.io": {"username": "gh", "password": "ghpw"},
	    "https://registry.example.com/v2/": {"auth": "` + b64("ex:expw") + `"},
	    "localhost:5000": {"identitytoken": "tok123"},
	    "http://plain.example:8080": {"username": "p", "password": "q", "registrytoken": "rt"}
	  }
	}`
	c, err := Load(writeConfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		ref  string
		want registry.AuthConfig
	}{
		{"nginx", registry.AuthConfig{Username: "hubuser", Password: "hub:pass", ServerAddress: DockerHubServer}},
		{"docker.io/myorg/app:2", registry.AuthConfig{Username: "hubuser", Password: "hub:pass", ServerAddress: DockerHubServer}},
		{"ghcr.io/o/app", registry.AuthConfig{Username: "gh", Password: "ghpw", ServerAddress: "ghcr.io"}},
		{"registry.example.com/team/app:1", registry.AuthConfig{Username: "ex", Password: "expw", ServerAddress: "registry.example.com"}},
		{"localhost:5000/app", registry.AuthConfig{IdentityToken: "tok123", ServerAddress: "localhost:5000"}},
		{"plain.example:8080/x", registry.AuthConfig{Username: "p", Password: "q", RegistryToken: "rt", ServerAddress: "plain.example:8080"}},
		{"quay.io/o/app", registry.AuthConfig{ServerAddress: "quay.io"}},
	}
	for _, tt := range tests {
		got, err := c.Resolve(ctx, tt.ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.ref, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Resolve(%q) = %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}

func TestResolveDockerHubAlternateKeys(t *testing.T) {
	for _, key := range []string{"docker.io", "index.docker.io", "https://index.docker.io", "https://index.docker.io/v1/", "https://docker.io"} {
		t.Run(key, func(t *testing.T) {
			cfg := `{"auths": {"` + key + `": {"auth": "` + b64("u:p") + `"}}}`
			c, err := Load(writeConfig(t, cfg))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Resolve(context.Background(), "myorg/app:1")
			if err != nil {
				t.Fatal(err)
			}
			want := registry.AuthConfig{Username: "u", Password: "p", ServerAddress: DockerHubServer}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestResolveBadAuthField(t *testing.T) {
	c, err := Load(writeConfig(t, `{"auths":{"ghcr.io":{"auth":"!!!notbase64"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(context.Background(), "ghcr.io/o/a"); err == nil {
		t.Fatal("expected an error for an invalid auth field")
	}
	c, err = Load(writeConfig(t, `{"auths":{"ghcr.io":{"auth":"`+b64("nocolon")+`"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(context.Background(), "ghcr.io/o/a"); err == nil {
		t.Fatal("expected an error for an auth field without a colon")
	}
}

func TestResolveCredsStore(t *testing.T) {
	logFile := fakeHelper(t, "cutovertest", map[string]string{
		DockerHubServer: `{"ServerURL":"https://index.docker.io/v1/","Username":"hubu","Secret":"hubs"}`,
		"ghcr.io":       `{"ServerURL":"ghcr.io","Username":"<token>","Secret":"idtok"}`,
	})
	cfg := `{
	  "credsStore": "cutovertest",
	  "auths": {
	    "https://index.docker.io/v1/": {},
	    "ghcr.io": {},
	    "fallback.example": {"auth": "` + b64("fb:fbpw") + `"}
	  }
	}`
	c, err := Load(writeConfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, err := c.Resolve(ctx, "nginx:1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (registry.AuthConfig{Username: "hubu", Password: "hubs", ServerAddress: DockerHubServer}); got != want {
		t.Errorf("hub: got %+v, want %+v", got, want)
	}

	got, err = c.Resolve(ctx, "ghcr.io/o/app")
	if err != nil {
		t.Fatal(err)
	}
	if want := (registry.AuthConfig{IdentityToken: "idtok", ServerAddress: "ghcr.io"}); got != want {
		t.Errorf("ghcr identity token: got %+v, want %+v", got, want)
	}

	// The helper has nothing for this registry: fall back to the inline entry.
	got, err = c.Resolve(ctx, "fallback.example/app")
	if err != nil {
		t.Fatal(err)
	}
	if want := (registry.AuthConfig{Username: "fb", Password: "fbpw", ServerAddress: "fallback.example"}); got != want {
		t.Errorf("fallback: got %+v, want %+v", got, want)
	}

	// Nothing anywhere: empty credentials, no error.
	got, err = c.Resolve(ctx, "quay.io/x/y")
	if err != nil {
		t.Fatal(err)
	}
	if !IsEmpty(got) {
		t.Errorf("quay: expected no credentials, got %+v", got)
	}

	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	asked := strings.Fields(string(log))
	for _, want := range []string{DockerHubServer, "ghcr.io", "fallback.example", "quay.io"} {
		found := false
		for _, a := range asked {
			if a == want {
				found = true
			}
		}
		if !found {
			t.Errorf("helper was not asked for %q (asked: %v)", want, asked)
		}
	}
}

func TestResolveCredHelpersTakePrecedence(t *testing.T) {
	fakeHelper(t, "perreg", map[string]string{
		"registry.example.com": `{"ServerURL":"registry.example.com","Username":"helperuser","Secret":"helpersecret"}`,
	})
	fakeHelper(t, "store", map[string]string{
		"registry.example.com": `{"ServerURL":"registry.example.com","Username":"storeuser","Secret":"storesecret"}`,
		"other.example":        `{"ServerURL":"other.example","Username":"o","Secret":"os"}`,
	})
	cfg := `{
	  "credsStore": "store",
	  "credHelpers": {"https://registry.example.com": "perreg"},
	  "auths": {"registry.example.com": {"auth": "` + b64("inline:inline") + `"}}
	}`
	c, err := Load(writeConfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.Resolve(ctx, "registry.example.com/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (registry.AuthConfig{Username: "helperuser", Password: "helpersecret", ServerAddress: "registry.example.com"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got, err = c.Resolve(ctx, "other.example/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (registry.AuthConfig{Username: "o", Password: "os", ServerAddress: "other.example"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	all, err := c.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all["registry.example.com"].Username != "helperuser" {
		t.Errorf("All = %+v", all)
	}
}

func TestResolveMissingHelper(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c, err := Load(writeConfig(t, `{"credsStore":"doesnotexist"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve(context.Background(), "ghcr.io/o/a")
	if err == nil || !strings.Contains(err.Error(), "docker-credential-doesnotexist") {
		t.Fatalf("expected an error naming the helper, got %v", err)
	}
}

func TestResolveHelperFailure(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'keychain is locked'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-broken"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	c, err := Load(writeConfig(t, `{"credsStore":"broken"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve(context.Background(), "ghcr.io/o/a")
	if err == nil || !strings.Contains(err.Error(), "keychain is locked") {
		t.Fatalf("expected the helper's message, got %v", err)
	}
}

func TestNilConfig(t *testing.T) {
	var c *Config
	ac, err := c.Resolve(context.Background(), "ghcr.io/a/b")
	if err != nil || !IsEmpty(ac) {
		t.Fatalf("got %+v, %v", ac, err)
	}
}

func TestEncode(t *testing.T) {
	ac := registry.AuthConfig{Username: "u", Password: "p", ServerAddress: "ghcr.io"}
	s, err := Encode(ac)
	if err != nil {
		t.Fatal(err)
	}
	back, err := registry.DecodeAuthConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	if *back != ac {
		t.Fatalf("round trip: got %+v, want %+v", *back, ac)
	}
	if strings.ContainsAny(s, "+/") {
		t.Fatalf("X-Registry-Auth must be base64url: %q", s)
	}
}
