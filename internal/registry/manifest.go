package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/go-retryablehttp"
)

// manifestAccept lists the manifest media types cutover understands: Docker
// schema 2 manifests and manifest lists, OCI manifests and indexes. Asking
// for all four makes the registry answer with the digest docker records.
var manifestAccept = strings.Join([]string{
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
}, ", ")

// maxManifest bounds a manifest body read by GET.
const maxManifest = 4 << 20

// errNoDigest: a HEAD answer without Docker-Content-Digest; GET instead.
var errNoDigest = errors.New("no Docker-Content-Digest header")

// manifestDigest asks for r's manifest with method (HEAD or GET) and
// returns its digest.
func (c *Client) manifestDigest(ctx context.Context, r Ref, method string) (string, error) {
	url := r.Endpoint + "/v2/" + r.Repo + "/manifests/" + r.Tag
	resp, err := c.authorized(ctx, r, method, url)
	if err != nil {
		return "", err
	}
	defer drain(resp.Body)

	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return "", errorf(ErrNotFound, "no tag %s in %s%s", r.Tag, r.Name(), registryMessage(resp))
	case resp.StatusCode == http.StatusForbidden:
		return "", errorf(ErrUnauthorized, "registry denied access to %s%s", r.Name(), registryMessage(resp))
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", rateLimitError(r.Host, resp, c.now())
	case method == http.MethodHead && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusBadRequest):
		return "", errNoDigest
	default:
		return "", errorf(nil, "registry %s answered %s for %s%s", r.Host, resp.Status, r, registryMessage(resp))
	}

	if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
		if !validDigest(d) {
			return "", errorf(nil, "registry %s sent an invalid digest %q for %s", r.Host, d, r)
		}
		return d, nil
	}
	if method == http.MethodHead {
		return "", errNoDigest
	}
	// No header: the digest is the hash of the manifest as served.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest+1))
	if err != nil {
		return "", fmt.Errorf("reading manifest of %s: %w", r, err)
	}
	if len(body) > maxManifest {
		return "", errorf(nil, "manifest of %s is larger than %d bytes", r, maxManifest)
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// authorized sends a request for r, answering a 401 challenge once with
// the credentials configured for r's registry. Connection errors and 5xx
// answers come back as errors; other answers as the response.
func (c *Client) authorized(ctx context.Context, r Ref, method, url string) (*http.Response, error) {
	header := c.cached(r)
	resp, err := c.send(ctx, r, method, url, header)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	challenges := parseChallenges(resp.Header.Values("WWW-Authenticate"))
	drain(resp.Body)
	c.remember(r, "", 0)

	grant, err := c.authorize(ctx, r, challenges)
	if err != nil {
		return nil, err
	}
	resp, err = c.send(ctx, r, method, url, grant.header)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		msg := registryMessage(resp)
		drain(resp.Body)
		return nil, grant.refused(r, msg)
	}
	if resp.StatusCode < 400 {
		c.remember(r, grant.header, grant.ttl)
	}
	return resp, nil
}

// send sends one request (with retries on connection errors and 5xx).
func (c *Client) send(ctx context.Context, r Ref, method, url, authorization string) (*http.Response, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, fmt.Errorf("asking registry %s for %s: %w", r.Host, r, err)
	}
	req.Header.Set("Accept", manifestAccept)
	req.Header.Set("User-Agent", userAgent)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var se *serverError
		if errors.As(err, &se) {
			return nil, errorf(nil, "registry %s %s for %s", r.Host, se, r)
		}
		return nil, fmt.Errorf("asking registry %s for %s: %w", r.Host, r, err)
	}
	return resp, nil
}

// userAgent identifies cutover to registries.
const userAgent = "cutover"

// registryMessage returns ": <message>" from a registry's JSON error body
// ({"errors":[{"code":…,"message":…}]}), or "" (HEAD answers have no body).
func registryMessage(resp *http.Response) string {
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil || json.Unmarshal(data, &body) != nil || len(body.Errors) == 0 {
		return ""
	}
	var parts []string
	for _, e := range body.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		case e.Code != "":
			parts = append(parts, e.Code)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (registry says: " + strings.Join(parts, "; ") + ")"
}

// validDigest checks "algorithm:hex" with a known algorithm.
func validDigest(d string) bool {
	alg, hexPart, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	var n int
	switch alg {
	case "sha256":
		n = 64
	case "sha512":
		n = 128
	default:
		return false
	}
	if len(hexPart) != n {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}
