package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/hashicorp/go-retryablehttp"
)

// grant is the Authorization header that answers a registry's challenge.
type grant struct {
	header string
	ttl    time.Duration // zero: no expiry (basic credentials)
	user   string        // whose credentials were used ("" if none)
	creds  bool          // credentials from the docker config were used
}

// refused explains a 401 to a request that carried this grant.
func (g grant) refused(r Ref, msg string) error {
	if !g.creds {
		return errorf(ErrUnauthorized, "registry %s needs credentials for %s and none are configured (run `docker login %s`)%s",
			r.Host, r.Repo, r.Host, msg)
	}
	if g.user != "" {
		return errorf(ErrUnauthorized, "registry refused credentials for %s (user %s)%s", r.Name(), g.user, msg)
	}
	return errorf(ErrUnauthorized, "registry refused credentials for %s%s", r.Name(), msg)
}

// defaultTokenTTL is how long a token without expires_in is used (the
// token spec's default).
const defaultTokenTTL = 60 * time.Second

// authorize answers a 401's challenges: bearer (a token from the realm,
// fetched with the configured credentials, or anonymously) is preferred to
// basic.
func (c *Client) authorize(ctx context.Context, r Ref, challenges []challenge) (grant, error) {
	ac, err := c.creds.ForRegistry(ctx, r.Host)
	if err != nil {
		return grant{}, fmt.Errorf("credentials for registry %s: %w", r.Host, err)
	}
	if ch, ok := find(challenges, "bearer"); ok {
		return c.bearer(ctx, r, ch, ac)
	}
	if _, ok := find(challenges, "basic"); ok {
		if ac.Username == "" && ac.Password == "" {
			return grant{}, grant{}.refused(r, "")
		}
		raw := base64.StdEncoding.EncodeToString([]byte(ac.Username + ":" + ac.Password))
		return grant{header: "Basic " + raw, user: ac.Username, creds: true}, nil
	}
	return grant{}, errorf(ErrUnauthorized, "registry %s answered 401 for %s without a challenge cutover understands (%q)",
		r.Host, r, strings.Join(schemes(challenges), ", "))
}

// bearer fetches a token for r from the challenge's realm.
func (c *Client) bearer(ctx context.Context, r Ref, ch challenge, ac dockerregistry.AuthConfig) (grant, error) {
	if ac.RegistryToken != "" {
		return grant{header: "Bearer " + ac.RegistryToken, creds: true}, nil
	}
	realm, err := url.Parse(ch.params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") || realm.Host == "" {
		return grant{}, errorf(nil, "registry %s sent an unusable token realm %q", r.Host, ch.params["realm"])
	}
	hasCreds := ac.IdentityToken != "" || ac.Username != "" || ac.Password != ""
	if hasCreds && realm.Scheme == "http" && !isLoopback(realm.Host) {
		return grant{}, errorf(nil, "registry %s sends credentials to a plain-HTTP token server %s; refusing", r.Host, realm.Redacted())
	}
	scope := ch.params["scope"]
	if scope == "" {
		scope = "repository:" + r.Repo + ":pull"
	}
	g := grant{user: ac.Username, creds: hasCreds}

	q := realm.Query()
	if s := ch.params["service"]; s != "" {
		q.Set("service", s)
	}
	q.Set("scope", scope)
	var req *retryablehttp.Request
	if ac.IdentityToken != "" {
		// OAuth2 refresh token flow (what `docker login` stores for
		// registries that hand out identity tokens).
		form := url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {ac.IdentityToken},
			"client_id":     {userAgent},
			"service":       {q.Get("service")},
			"scope":         {scope},
		}
		req, err = retryablehttp.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		realm.RawQuery = q.Encode()
		req, err = retryablehttp.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
		if err == nil && hasCreds {
			req.SetBasicAuth(ac.Username, ac.Password)
		}
	}
	if err != nil {
		return grant{}, fmt.Errorf("token for %s: %w", r, err)
	}
	req.Header.Set("User-Agent", userAgent)

	resp, err := c.http.Do(req)
	if err != nil {
		var se *serverError
		if errors.As(err, &se) {
			return grant{}, errorf(nil, "token server %s of registry %s %s", realm.Host, r.Host, se)
		}
		return grant{}, fmt.Errorf("token for %s from %s: %w", r, realm.Host, err)
	}
	defer drain(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return grant{}, g.refused(r, fmt.Sprintf(" (token server %s answered %s)", realm.Host, resp.Status))
	case http.StatusTooManyRequests:
		return grant{}, rateLimitError(r.Host, resp, c.now())
	default:
		return grant{}, errorf(nil, "token server %s of registry %s answered %s", realm.Host, r.Host, resp.Status)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return grant{}, fmt.Errorf("token for %s from %s: %w", r, realm.Host, err)
	}
	if err := json.Unmarshal(data, &tok); err != nil {
		return grant{}, errorf(nil, "token server %s of registry %s sent invalid JSON: %v", realm.Host, r.Host, err)
	}
	t := tok.Token
	if t == "" {
		t = tok.AccessToken
	}
	if t == "" {
		return grant{}, errorf(nil, "token server %s of registry %s sent no token", realm.Host, r.Host)
	}
	g.header = "Bearer " + t
	g.ttl = defaultTokenTTL
	if tok.ExpiresIn > 0 {
		g.ttl = time.Duration(tok.ExpiresIn) * time.Second
	}
	// Renew a little early so a token does not expire in flight.
	g.ttl -= g.ttl / 10
	return g, nil
}

func schemes(chs []challenge) []string {
	out := make([]string, 0, len(chs))
	for _, c := range chs {
		out = append(out, c.scheme)
	}
	return out
}
