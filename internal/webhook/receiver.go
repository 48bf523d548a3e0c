package webhook

import (
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Receiver holds the secrets and limits of the four push sources, and does
// for an HTTP handler what must happen in order: authenticate, read the body
// with a size limit, parse. A source whose secret is empty refuses every
// request (ErrUnauthorized). Log a Receiver freely: LogValue shows which
// secrets are set, never their values.
type Receiver struct {
	// DockerHubToken is the secret in the Docker Hub hook URL
	// (/hooks/dockerhub/<token>).
	DockerHubToken string
	// RegistryAuthorization is the Authorization header the registry is
	// configured to send: the whole value ("Bearer s3cret") or a bare token
	// sent as "Bearer <token>".
	RegistryAuthorization string
	// RegistryHost, when set, replaces request.host in registry events (use
	// it when compose files name the registry differently from the address
	// pushes go to).
	RegistryHost string
	// GitHubSecret is the GitHub webhook secret (X-Hub-Signature-256).
	GitHubSecret string
	// GenericSecret is the HMAC key of X-Cutover-Signature-256, and
	// GenericToken a bearer token; either authenticates a generic push.
	GenericSecret string
	GenericToken  string
	// MaxBody is the body size limit in bytes (DefaultMaxBody when <= 0).
	MaxBody int64
}

// LogValue names the configured sources without their secrets.
func (rc Receiver) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("dockerhub", rc.DockerHubToken != ""),
		slog.Bool("registry", rc.RegistryAuthorization != ""),
		slog.String("registry_host", rc.RegistryHost),
		slog.Bool("github", rc.GitHubSecret != ""),
		slog.Bool("generic_hmac", rc.GenericSecret != ""),
		slog.Bool("generic_token", rc.GenericToken != ""),
		slog.Int64("max_body", rc.MaxBody),
	)
}

// DockerHubPathPrefix is where Docker Hub hooks arrive; the rest of the path
// is the token.
const DockerHubPathPrefix = "/hooks/dockerhub/"

// RedactPath hides the token of a Docker Hub hook path
// ("/hooks/dockerhub/<token>" → "/hooks/dockerhub/REDACTED"), for request
// logs: the token is the hook's only secret. Other paths are returned as
// they are.
func RedactPath(path string) string {
	if rest, ok := strings.CutPrefix(path, DockerHubPathPrefix); ok && rest != "" {
		return DockerHubPathPrefix + "REDACTED"
	}
	return path
}

// DockerHub handles a Docker Hub hook whose URL carried token. The token is
// in the request path: log r.URL.Path only through RedactPath.
func (rc Receiver) DockerHub(w http.ResponseWriter, r *http.Request, token string) (Push, error) {
	if !CheckToken(token, rc.DockerHubToken) {
		return Push{}, fmt.Errorf("%w: dockerhub: the token in the URL is wrong (or no Docker Hub token is configured)", ErrUnauthorized)
	}
	body, err := ReadBody(w, r, rc.MaxBody)
	if err != nil {
		return Push{}, err
	}
	return ParseDockerHub(body)
}

// Registry handles a registry notification envelope.
func (rc Receiver) Registry(w http.ResponseWriter, r *http.Request) ([]Push, error) {
	if !CheckAuthorization(r.Header.Get("Authorization"), rc.RegistryAuthorization) {
		return nil, fmt.Errorf("%w: registry: missing or wrong Authorization header (or none is configured)", ErrUnauthorized)
	}
	body, err := ReadBody(w, r, rc.MaxBody)
	if err != nil {
		return nil, err
	}
	return ParseRegistry(r.Header.Get("Content-Type"), body, rc.RegistryHost)
}

// GitHub handles a GitHub webhook delivery: the signature is checked over
// the raw body, before anything else is read from it. Deliveries configured
// with the form content type (payload=<json>) are understood too.
func (rc Receiver) GitHub(w http.ResponseWriter, r *http.Request) (Push, error) {
	body, err := ReadBody(w, r, rc.MaxBody)
	if err != nil {
		return Push{}, err
	}
	if !VerifySignature(rc.GitHubSecret, body, r.Header.Get(GitHubSignatureHeader)) {
		return Push{}, fmt.Errorf("%w: github: missing or wrong %s (or no GitHub secret is configured)", ErrUnauthorized, GitHubSignatureHeader)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return Push{}, badPayload("form body without a payload field")
		}
		body = []byte(form.Get("payload"))
	}
	return ParseGitHub(r.Header.Get(GitHubEventHeader), body)
}

// Generic handles cutover's generic format, authenticated by
// X-Cutover-Signature-256 or by a bearer token.
func (rc Receiver) Generic(w http.ResponseWriter, r *http.Request) (Push, error) {
	body, err := ReadBody(w, r, rc.MaxBody)
	if err != nil {
		return Push{}, err
	}
	signed := VerifySignature(rc.GenericSecret, body, r.Header.Get(GenericSignatureHeader))
	token, isBearer := bearerToken(r.Header.Get("Authorization"))
	if !signed && !(isBearer && CheckToken(token, rc.GenericToken)) {
		return Push{}, fmt.Errorf("%w: generic: missing or wrong %s or bearer token", ErrUnauthorized, GenericSignatureHeader)
	}
	return ParseGeneric(body)
}
