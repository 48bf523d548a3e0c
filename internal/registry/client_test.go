package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dockerregistry "github.com/docker/docker/api/types/registry"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// creds is a Credentials for tests: host → credentials.
type creds map[string]dockerregistry.AuthConfig

func (c creds) ForRegistry(_ context.Context, host string) (dockerregistry.AuthConfig, error) {
	return c[host], nil
}

// newTestClient returns a client with tiny retry waits.
func newTestClient(t *testing.T, c Credentials) *Client {
	t.Helper()
	if c == nil {
		c = creds{}
	}
	cl, err := New(Options{Credentials: c, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// fakeRegistry serves handler and counts requests.
type fakeRegistry struct {
	*httptest.Server
	requests atomic.Int32
}

func newFake(t *testing.T, handler http.HandlerFunc) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRegistry) host() string { return strings.TrimPrefix(f.URL, "http://") }

func TestDigest_RetriesServerErrorsThenSucceeds(t *testing.T) {
	var n atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Docker-Content-Digest", digestA)
	})
	got, err := newTestClient(t, nil).Digest(t.Context(), f.host()+"/web:v2")
	if err != nil {
		t.Fatal(err)
	}
	if got != digestA {
		t.Errorf("Digest = %s, want %s", got, digestA)
	}
	if c := f.requests.Load(); c != 3 {
		t.Errorf("registry saw %d requests, want 3 (two 503s, then 200)", c)
	}
}

func TestDigest_GivesUpOnPersistentServerError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	_, err := newTestClient(t, nil).Digest(t.Context(), f.host()+"/web:v2")
	want := "registry " + f.host() + " answered 500 Internal Server Error (3 attempts) for " + f.host() + "/web:v2"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if c := f.requests.Load(); c != 1+DefaultRetryMax {
		t.Errorf("registry saw %d requests, want %d", c, 1+DefaultRetryMax)
	}
}

func TestDigest_UnknownTagIsNotRetried(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	_, err := newTestClient(t, nil).Digest(t.Context(), f.host()+"/web:v2")
	if !errors.Is(err, ErrNotFound) || err.Error() != "no tag v2 in "+f.host()+"/web" {
		t.Errorf("err = %v, want ErrNotFound: no tag v2 in %s/web", err, f.host())
	}
	if c := f.requests.Load(); c != 1 {
		t.Errorf("registry saw %d requests, want 1", c)
	}
}

func TestDigest_RateLimitCarriesRetryAfter(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err := newTestClient(t, nil).Digest(t.Context(), f.host()+"/web:v2")
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v, want a *RateLimitError", err)
	}
	if rl.RetryAfter != 2*time.Minute || rl.Registry != f.host() {
		t.Errorf("RateLimitError = %+v, want registry %s, retry after 2m", rl, f.host())
	}
	if c := f.requests.Load(); c != 1 {
		t.Errorf("registry saw %d requests, want 1 (429 is left to the caller)", c)
	}
}

func TestDigest_AsksForEveryManifestKind(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		for _, mt := range []string{
			"application/vnd.docker.distribution.manifest.v2+json",
			"application/vnd.docker.distribution.manifest.list.v2+json",
			"application/vnd.oci.image.manifest.v1+json",
			"application/vnd.oci.image.index.v1+json",
		} {
			if !strings.Contains(r.Header.Get("Accept"), mt) {
				http.Error(w, "Accept lacks "+mt, http.StatusBadRequest)
				return
			}
		}
		if r.Method != http.MethodHead || r.URL.Path != "/v2/team/web/manifests/v2" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		w.Header().Set("Docker-Content-Digest", digestA)
	})
	got, err := newTestClient(t, nil).Digest(t.Context(), f.host()+"/team/web:v2")
	if err != nil || got != digestA {
		t.Errorf("Digest = %q, %v; want %s", got, err, digestA)
	}
}

func TestDigest_FallsBackToGet(t *testing.T) {
	manifest := `{"schemaVersion":2}`
	sum := sha256.Sum256([]byte(manifest))
	want := "sha256:" + hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		desc       string
		headStatus int
	}{
		{"HEAD without digest header", http.StatusOK},
		{"HEAD not allowed", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var methods []string
			var mu sync.Mutex
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				methods = append(methods, r.Method)
				mu.Unlock()
				if r.Method == http.MethodHead {
					w.WriteHeader(tc.headStatus)
					return
				}
				_, _ = w.Write([]byte(manifest)) // no digest header: hashed
			})
			got, err := newTestClient(t, nil).Digest(t.Context(), f.host()+"/web:v2")
			if err != nil || got != want {
				t.Errorf("Digest = %q, %v; want %s", got, err, want)
			}
			if strings.Join(methods, ",") != "HEAD,GET" {
				t.Errorf("methods = %v, want HEAD then GET", methods)
			}
		})
	}
}

func TestDigest_DigestOnlyReferenceAsksNothing(t *testing.T) {
	got, err := newTestClient(t, nil).Digest(t.Context(), "127.0.0.1:1/web@"+digestA)
	if err != nil || got != digestA {
		t.Errorf("Digest = %q, %v; want %s", got, err, digestA)
	}
}

func TestDigest_BasicAuth(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Docker-Content-Digest", digestA)
	})
	for _, tc := range []struct {
		desc     string
		creds    creds
		want     string // error; "" for success
		requests int32
	}{
		{"right password", creds{f.host(): {Username: "alice", Password: "secret"}}, "", 2},
		{"wrong password", creds{f.host(): {Username: "alice", Password: "nope"}},
			"registry refused credentials for " + f.host() + "/web (user alice)", 2},
		{"no credentials", creds{},
			"registry " + f.host() + " needs credentials for web and none are configured (run `docker login " + f.host() + "`)", 1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f.requests.Store(0)
			got, err := newTestClient(t, tc.creds).Digest(t.Context(), f.host()+"/web:v2")
			switch {
			case tc.want == "" && (err != nil || got != digestA):
				t.Errorf("Digest = %q, %v; want %s", got, err, digestA)
			case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, ErrUnauthorized)):
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
			if c := f.requests.Load(); c != tc.requests {
				t.Errorf("registry saw %d requests, want %d (401 is not retried)", c, tc.requests)
			}
		})
	}
}

func TestDigest_BearerToken(t *testing.T) {
	var tokens atomic.Int32
	tokenSrv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("service") != "test-registry" || r.URL.Query().Get("scope") != "repository:team/web:pull" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		tokens.Add(1)
		_, _ = w.Write([]byte(`{"token":"tok-1","expires_in":100}`))
	})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenSrv.URL+`/token",service="test-registry",scope="repository:team/web:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Docker-Content-Digest", digestA)
	})
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	cl, err := New(Options{
		Credentials:  creds{f.host(): {Username: "alice", Password: "secret"}},
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := f.host() + "/team/web:v2"
	for i := range 2 {
		if got, err := cl.Digest(t.Context(), ref); err != nil || got != digestA {
			t.Fatalf("Digest #%d = %q, %v; want %s", i+1, got, err, digestA)
		}
	}
	if n := tokens.Load(); n != 1 {
		t.Errorf("token server issued %d tokens for two lookups, want 1 (cached)", n)
	}
	// 100 s tokens are renewed after 90 s.
	clock.Store(now.Add(91 * time.Second).UnixNano())
	if _, err := cl.Digest(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if n := tokens.Load(); n != 2 {
		t.Errorf("token server issued %d tokens, want 2 after the first expired", n)
	}

	// Wrong password: the token server's 401 is the answer.
	bad := newTestClient(t, creds{f.host(): {Username: "alice", Password: "nope"}})
	_, err = bad.Digest(t.Context(), ref)
	if !errors.Is(err, ErrUnauthorized) || !strings.HasPrefix(err.Error(), "registry refused credentials for "+f.host()+"/team/web (user alice)") {
		t.Errorf("err = %v, want refused credentials", err)
	}
}

func TestDigest_RefusesCredentialsOverPlainHTTPToRemoteRealm(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://auth.example.com/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	_, err := newTestClient(t, creds{f.host(): {Username: "alice", Password: "secret"}}).Digest(t.Context(), f.host()+"/web:v2")
	if err == nil || !strings.Contains(err.Error(), "plain-HTTP token server") {
		t.Errorf("err = %v, want a refusal to send credentials over plain HTTP", err)
	}
}

func TestDigest_UnreachableRegistry(t *testing.T) {
	f := newFake(t, func(http.ResponseWriter, *http.Request) {})
	host := f.host()
	f.Close()
	_, err := newTestClient(t, nil).Digest(t.Context(), host+"/web:v2")
	if err == nil || !strings.Contains(err.Error(), "asking registry "+host+" for "+host+"/web:v2") ||
		!strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "(3 attempts)") {
		t.Errorf("err = %v, want connection refused after 3 attempts", err)
	}
}
