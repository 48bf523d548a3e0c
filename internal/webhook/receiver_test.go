package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const (
	hubToken      = "hub-url-token-7Qm2"
	registryToken = "registry-bearer-Kp9"
	githubSecret  = "github-hmac-secret-Xv4"
	genericSecret = "generic-hmac-secret-Lw8"
	genericToken  = "generic-bearer-Rt6"
)

// hookServer is a real HTTP server answering the four hooks the way the
// daemon will: the status from StatusCode, the pushes or the error as body.
func hookServer(t *testing.T, rc Receiver) *httptest.Server {
	t.Helper()
	answer := func(w http.ResponseWriter, pushes []Push, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(StatusCode(err))
		if err != nil {
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		var images []string
		for _, p := range pushes {
			images = append(images, p.Image())
		}
		_ = json.NewEncoder(w).Encode(map[string][]string{"images": images})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/dockerhub/{token}", func(w http.ResponseWriter, r *http.Request) {
		p, err := rc.DockerHub(w, r, r.PathValue("token"))
		answer(w, []Push{p}, err)
	})
	mux.HandleFunc("POST /hooks/registry", func(w http.ResponseWriter, r *http.Request) {
		ps, err := rc.Registry(w, r)
		answer(w, ps, err)
	})
	mux.HandleFunc("POST /hooks/github", func(w http.ResponseWriter, r *http.Request) {
		p, err := rc.GitHub(w, r)
		answer(w, []Push{p}, err)
	})
	mux.HandleFunc("POST /hooks/generic", func(w http.ResponseWriter, r *http.Request) {
		p, err := rc.Generic(w, r)
		answer(w, []Push{p}, err)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func testReceiver() Receiver {
	return Receiver{
		DockerHubToken:        hubToken,
		RegistryAuthorization: registryToken,
		GitHubSecret:          githubSecret,
		GenericSecret:         genericSecret,
		GenericToken:          genericToken,
	}
}

type hookReply struct {
	status int
	body   string
}

// post sends body (chunked when chunked is set, so no Content-Length tells
// the size up front) with the given headers.
func post(t *testing.T, url string, body []byte, chunked bool, headers ...string) hookReply {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return hookReply{resp.StatusCode, string(b)}
}

func TestReceiver_Hooks(t *testing.T) {
	srv := hookServer(t, testReceiver())
	ghBody := testdata(t, "github/package_published.json")
	genBody := testdata(t, "generic/push.json")
	form := []byte("payload=" + url.QueryEscape(string(ghBody)))
	tests := []struct {
		desc, path string
		body       []byte
		headers    []string
		status     int
		want       string // in the reply body
	}{
		{"dockerhub", "/hooks/dockerhub/" + hubToken, testdata(t, "dockerhub/push.json"), nil, 202, "docker.io/myorg/web:1.4.2"},
		{"dockerhub wrong token", "/hooks/dockerhub/guess", testdata(t, "dockerhub/push.json"), nil, 401, "token in the URL is wrong"},
		{"dockerhub garbage", "/hooks/dockerhub/" + hubToken, []byte("{not json"), nil, 400, "invalid JSON"},
		{"registry", "/hooks/registry", testdata(t, "registry/push_manifest.json"),
			[]string{"Authorization", "Bearer " + registryToken, "Content-Type", RegistryEventsV1}, 202, "127.0.0.1:5000/web:v1@sha256:"},
		{"registry pulls only", "/hooks/registry", testdata(t, "registry/untagged.json"),
			[]string{"Authorization", "Bearer " + registryToken, "Content-Type", RegistryEventsV1}, 200, "no tagged manifest push"},
		{"registry without Authorization", "/hooks/registry", testdata(t, "registry/push_manifest.json"),
			[]string{"Content-Type", RegistryEventsV1}, 401, "Authorization"},
		{"github", "/hooks/github", ghBody,
			[]string{"X-GitHub-Event", "package", GitHubSignatureHeader, Sign(githubSecret, ghBody), "Content-Type", "application/json"}, 202, "ghcr.io/myorg/web:1.4.2@sha256:"},
		{"github form delivery", "/hooks/github", form,
			[]string{"X-GitHub-Event", "package", GitHubSignatureHeader, Sign(githubSecret, form), "Content-Type", "application/x-www-form-urlencoded"}, 202, "ghcr.io/myorg/web:1.4.2@sha256:"},
		{"github signed with another secret", "/hooks/github", ghBody,
			[]string{"X-GitHub-Event", "package", GitHubSignatureHeader, Sign("guess", ghBody)}, 401, GitHubSignatureHeader},
		{"github body altered after signing", "/hooks/github", append(bytes.Clone(ghBody), ' '),
			[]string{"X-GitHub-Event", "package", GitHubSignatureHeader, Sign(githubSecret, ghBody)}, 401, GitHubSignatureHeader},
		{"github unsigned", "/hooks/github", ghBody, []string{"X-GitHub-Event", "package"}, 401, GitHubSignatureHeader},
		{"github ping", "/hooks/github", testdata(t, "github/ping.json"),
			[]string{"X-GitHub-Event", "ping", GitHubSignatureHeader, Sign(githubSecret, testdata(t, "github/ping.json"))}, 200, "ping"},
		{"generic with HMAC", "/hooks/generic", genBody, []string{GenericSignatureHeader, Sign(genericSecret, genBody)}, 202, "127.0.0.1:5000/web:v2@sha256:"},
		{"generic with bearer", "/hooks/generic", genBody, []string{"Authorization", "Bearer " + genericToken}, 202, "127.0.0.1:5000/web:v2@sha256:"},
		{"generic with the HMAC secret as bearer", "/hooks/generic", genBody, []string{"Authorization", "Bearer " + genericSecret}, 401, "bearer token"},
		{"generic unauthenticated", "/hooks/generic", genBody, nil, 401, "bearer token"},
		{"generic bad payload", "/hooks/generic", []byte(`{"image": "x"}`), []string{"Authorization", "Bearer " + genericToken}, 400, "tag: missing"},
	}
	secrets := []string{hubToken, registryToken, githubSecret, genericSecret, genericToken}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := post(t, srv.URL+tt.path, tt.body, false, tt.headers...)
			if got.status != tt.status || !strings.Contains(got.body, tt.want) {
				t.Errorf("got %d %s, want %d with %q", got.status, got.body, tt.status, tt.want)
			}
			for _, s := range secrets {
				if strings.Contains(got.body, s) {
					t.Errorf("reply %q shows a secret", got.body)
				}
			}
		})
	}
}

// A source without a secret configured lets nobody in, even with an empty
// token or signature.
func TestReceiver_UnconfiguredSourcesRefuse(t *testing.T) {
	srv := hookServer(t, Receiver{})
	body := testdata(t, "generic/push.json")
	for _, r := range []hookReply{
		post(t, srv.URL+"/hooks/dockerhub/x", testdata(t, "dockerhub/push.json"), false),
		post(t, srv.URL+"/hooks/registry", testdata(t, "registry/push_manifest.json"), false, "Authorization", "Bearer ", "Content-Type", RegistryEventsV1),
		post(t, srv.URL+"/hooks/github", body, false, "X-GitHub-Event", "package", GitHubSignatureHeader, Sign("", body)),
		post(t, srv.URL+"/hooks/generic", body, false, GenericSignatureHeader, Sign("", body), "Authorization", "Bearer "),
	} {
		if r.status != 401 {
			t.Errorf("got %d %s, want 401", r.status, r.body)
		}
	}
}

func TestReceiver_BodyLimit(t *testing.T) {
	rc := testReceiver()
	rc.MaxBody = 4 << 10
	srv := hookServer(t, rc)
	// A valid generic payload padded with spaces past the limit.
	big := append(testdata(t, "generic/push.json"), bytes.Repeat([]byte(" "), 8<<10)...)
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			got := post(t, srv.URL+"/hooks/generic", big, chunked, "Authorization", "Bearer "+genericToken)
			if got.status != http.StatusRequestEntityTooLarge || !strings.Contains(got.body, "the limit is 4096 bytes") {
				t.Errorf("got %d %s, want 413 naming the limit", got.status, got.body)
			}
		})
	}
	// Just under the limit is fine.
	small := append(testdata(t, "generic/push.json"), bytes.Repeat([]byte(" "), 3<<10)...)
	if got := post(t, srv.URL+"/hooks/generic", small, true, "Authorization", "Bearer "+genericToken); got.status != 202 {
		t.Errorf("under the limit: got %d %s, want 202", got.status, got.body)
	}
}

func TestReadBody_DefaultLimit(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(bytes.NewReader(make([]byte, DefaultMaxBody+1))))
	_, err := ReadBody(httptest.NewRecorder(), req, 0)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrBadPayload) {
		t.Errorf("got %v, want ErrTooLarge (an ErrBadPayload)", err)
	}
	req = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(nil))
	_, err = ReadBody(httptest.NewRecorder(), req, 0)
	wantErr(t, err, ErrBadPayload, "empty body")
}

func TestStatusCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, 202},
		{ignored("ping"), 200},
		{fmt.Errorf("x: %w", ErrUnauthorized), 401},
		{fmt.Errorf("x: %w", ErrTooLarge), 413},
		{badPayload("x"), 400},
		{errors.New("disk full"), 500},
	} {
		if got := StatusCode(tt.err); got != tt.want {
			t.Errorf("StatusCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// Logging a Receiver or a Push shows no secret and no callback URL.
func TestLogValues_HideSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	push, err := ParseDockerHub(testdata(t, "dockerhub/push.json"))
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hook", "receiver", testReceiver(), "push", push)
	out := buf.String()
	for _, s := range []string{hubToken, registryToken, githubSecret, genericSecret, genericToken, "/hook/"} {
		if strings.Contains(out, s) {
			t.Errorf("log line %q shows %q", out, s)
		}
	}
	if !strings.Contains(out, "receiver.github=true") || !strings.Contains(out, "push.repo=docker.io/myorg/web") {
		t.Errorf("log line %q lacks the useful parts", out)
	}
}

func TestRedactPath(t *testing.T) {
	for path, want := range map[string]string{
		"/hooks/dockerhub/" + hubToken: "/hooks/dockerhub/REDACTED",
		"/hooks/dockerhub/a/b":         "/hooks/dockerhub/REDACTED",
		"/hooks/dockerhub/":            "/hooks/dockerhub/",
		"/hooks/registry":              "/hooks/registry",
		"/v1/stacks":                   "/v1/stacks",
	} {
		if got := RedactPath(path); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", path, got, want)
		}
	}
}
