package webhook

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// hubPayload is the part of a Docker Hub repository webhook cutover reads:
//
//	{"callback_url": "...",
//	 "push_data": {"pushed_at": 1700000000.5, "pusher": "...", "tag": "1.4.2"},
//	 "repository": {"repo_name": "myorg/web", "namespace": "myorg", "name": "web", ...}}
type hubPayload struct {
	CallbackURL string `json:"callback_url"`
	PushData    *struct {
		// PushedAt is seconds since the epoch, an integer or a float.
		PushedAt json.RawMessage `json:"pushed_at"`
		Tag      string          `json:"tag"`
	} `json:"push_data"`
	Repository *struct {
		RepoName  string `json:"repo_name"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"repository"`
}

// ParseDockerHub parses a Docker Hub repository webhook body. Hub signs
// nothing: authenticate the request by its URL token (CheckToken) before
// acting on the result. A multi-arch push makes Hub send several hooks for
// the same tag; Push.Key tells them apart from a new push.
func ParseDockerHub(body []byte) (Push, error) {
	var p hubPayload
	if err := decodeJSON(body, &p, false); err != nil {
		return Push{}, err
	}
	if p.PushData == nil {
		return Push{}, badPayload("push_data: missing (is this a Docker Hub webhook?)")
	}
	if p.Repository == nil {
		return Push{}, badPayload("repository: missing (is this a Docker Hub webhook?)")
	}
	repo, err := hubRepo(p.Repository.RepoName, p.Repository.Namespace, p.Repository.Name)
	if err != nil {
		return Push{}, err
	}
	pushedAt, err := epochSeconds("push_data.pushed_at", p.PushData.PushedAt)
	if err != nil {
		return Push{}, err
	}
	push, err := newPush(SourceDockerHub, repo, field{"push_data.tag", p.PushData.Tag}, field{}, pushedAt)
	if err != nil {
		return Push{}, err
	}
	push.CallbackURL = hubCallback(p.CallbackURL)
	return push, nil
}

// hubRepo picks repository.repo_name, or namespace/name when it is absent;
// when both are there they must name the same repository.
func hubRepo(repoName, namespace, name string) (field, error) {
	joined := ""
	if namespace != "" && name != "" {
		joined = namespace + "/" + name
	}
	switch {
	case repoName == "" && joined == "":
		return field{}, badPayload("repository.repo_name: missing (and no repository.namespace and repository.name)")
	case repoName == "":
		return field{"repository.namespace/name", joined}, nil
	case joined != "":
		a, errA := reference.ParseNormalizedNamed(repoName)
		b, errB := reference.ParseNormalizedNamed(joined)
		if errA == nil && errB == nil && a.Name() != b.Name() {
			return field{}, badPayload("repository.repo_name %q and repository.namespace/name %q differ", clip(repoName), clip(joined))
		}
	}
	return field{"repository.repo_name", repoName}, nil
}

// epochSeconds reads seconds since the epoch, a JSON number, integer or
// fractional; absent or null gives the zero time.
func epochSeconds(name string, raw json.RawMessage) (time.Time, error) {
	n := strings.TrimSpace(string(raw))
	if n == "" || n == "null" {
		return time.Time{}, nil
	}
	if !strings.ContainsAny(n[:1], "-0123456789") {
		return time.Time{}, badPayload("%s: want a number (seconds since the epoch), got %s", name, clip(n))
	}
	f, err := strconv.ParseFloat(n, 64)
	// 1e11 s is the year 5138: anything beyond is not a push time.
	if err != nil || math.IsNaN(f) || f < 0 || f >= 1e11 {
		return time.Time{}, badPayload("%s: %s is not a Unix time in seconds", name, clip(n))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// hubCallback keeps a callback URL only if it is https on docker.com, so a
// forged payload cannot make cutover POST somewhere else.
func hubCallback(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if host != "docker.com" && !strings.HasSuffix(host, ".docker.com") {
		return ""
	}
	if u.Port() != "" && u.Port() != "443" {
		return ""
	}
	return raw
}
