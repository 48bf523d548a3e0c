package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The token server's names, as the registry's auth.token config repeats them.
const (
	tokenService = "cutover-test-registry"
	tokenIssuer  = "cutover-registrytest"
)

// tokenServer issues bearer tokens the way Docker Hub's auth service does:
// GET /token?service=…&scope=repository:NAME:ACTIONS with optional basic
// credentials. A known user gets the actions asked for; an anonymous
// request gets a token with no access (so the registry answers 401 again);
// wrong credentials get 401. Tokens are ES256 JWTs carrying the signing
// certificate (x5c), which the registry trusts through its rootcertbundle.
type tokenServer struct {
	srv      *httptest.Server
	key      *ecdsa.PrivateKey
	certDER  []byte
	certPath string
	users    map[string]string

	mu    sync.Mutex
	count int
}

func startTokenServer(tb testing.TB, dir string, users map[string]string) (*tokenServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: tokenIssuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "token-root.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	ts := &tokenServer{key: key, certDER: der, certPath: path, users: users}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	tb.Cleanup(ts.srv.Close)
	return ts, nil
}

func (ts *tokenServer) realm() string { return ts.srv.URL + "/token" }

func (ts *tokenServer) issued() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.count
}

type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	subject := ""
	if user, pass, ok := r.BasicAuth(); ok {
		if want, known := ts.users[user]; !known || want != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="cutover-registrytest"`)
			http.Error(w, `{"details":"incorrect username or password"}`, http.StatusUnauthorized)
			return
		}
		subject = user
	}
	var access []resourceActions
	if subject != "" {
		for _, scope := range r.Form["scope"] {
			// repository:NAME:ACTIONS, where NAME may hold a host:port.
			typ, rest, ok1 := strings.Cut(scope, ":")
			i := strings.LastIndex(rest, ":")
			if !ok1 || i < 0 {
				continue
			}
			access = append(access, resourceActions{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")})
		}
	}
	tok, err := ts.sign(subject, r.Form.Get("service"), access)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ts.mu.Lock()
	ts.count++
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}

// sign returns an ES256 JWT for the registry.
func (ts *tokenServer) sign(subject, audience string, access []resourceActions) (string, error) {
	if audience == "" {
		audience = tokenService
	}
	if access == nil {
		access = []resourceActions{}
	}
	now := time.Now()
	jti := make([]byte, 8)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header, err := json.Marshal(map[string]any{
		"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(ts.certDER)},
	})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss": tokenIssuer, "sub": subject, "aud": audience,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprintf("%x", jti), "access": access,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	rInt, sInt, err := ecdsa.Sign(rand.Reader, ts.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64) // JWS ES256: r and s as 32-byte big-endian
	rInt.FillBytes(sig[:32])
	sInt.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}

// writeHtpasswd writes users with bcrypt hashes, the only kind the
// registry's htpasswd auth accepts.
func writeHtpasswd(path string, users map[string]string) error {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, u := range slices.Compact(names) {
		hash, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			return fmt.Errorf("hashing password of %s: %w", u, err)
		}
		fmt.Fprintf(&b, "%s:%s\n", u, hash)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
