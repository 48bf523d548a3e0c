package webhook

import (
	"errors"
	"fmt"
	"mime"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// Media types of CNCF distribution registry notification envelopes: v1 from
// registry 2.x, v2 from registry 3.x (same fields, plus a few new ones).
const (
	RegistryEventsV1 = "application/vnd.docker.distribution.events.v1+json"
	RegistryEventsV2 = "application/vnd.docker.distribution.events.v2+json"
)

// manifestMediaTypes are the target media types of a manifest push: docker
// v2 manifests and manifest lists, OCI manifests and indexes, and the old
// schema 1. Everything else a registry reports as pushed is a blob.
var manifestMediaTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
	"application/vnd.docker.distribution.manifest.v1+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
}

// registryEnvelope is the notification body:
//
//	{"events": [{"id": "...", "timestamp": "...", "action": "push",
//	  "target": {"mediaType": "...", "digest": "sha256:...", "repository": "web", "tag": "v1", ...},
//	  "request": {"host": "127.0.0.1:5000", ...}, ...}]}
type registryEnvelope struct {
	Events *[]registryEvent `json:"events"`
}

type registryEvent struct {
	Action    string `json:"action"`
	Timestamp string `json:"timestamp"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// ParseRegistry parses a registry notification envelope sent with the given
// Content-Type (v1 or v2 envelope media type, or application/json). It
// returns one Push per manifest push that carries a tag, with Repo =
// request.host + "/" + target.repository; host, when not empty, replaces
// request.host (for a registry reached under another name than the one
// compose files use). Pulls, blob pushes, mounts, deletes and untagged
// (digest-only) manifest pushes are skipped.
//
// A registry retries an envelope it could not deliver until it is answered
// 2xx, so one bad event does not fail the others: events that cannot be
// read are skipped too, and when nothing is left the error is ErrIgnored
// with the reasons. Only a body that is not an envelope at all is an
// ErrBadPayload.
func ParseRegistry(contentType string, body []byte, host string) ([]Push, error) {
	if err := checkRegistryContentType(contentType); err != nil {
		return nil, err
	}
	var env registryEnvelope
	if err := decodeJSON(body, &env, false); err != nil {
		return nil, err
	}
	if env.Events == nil {
		return nil, badPayload("events: missing (is this a registry notification?)")
	}
	var pushes []Push
	skipped := map[string]int{}
	var problems []string
	for i, ev := range *env.Events {
		push, reason, err := registryPush(i, ev, host)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case reason != "":
			skipped[reason]++
		default:
			pushes = append(pushes, push)
		}
	}
	if len(pushes) > 0 {
		return pushes, nil
	}
	return nil, ignored("no tagged manifest push among %d events%s", len(*env.Events), summarize(skipped, problems))
}

// registryPush reads one event: a Push, or the reason to skip it, or an
// error naming what is wrong with it.
func registryPush(i int, ev registryEvent, hostOverride string) (Push, string, error) {
	prefix := fmt.Sprintf("events[%d]", i)
	switch {
	case ev.Action != "push":
		if ev.Action == "" {
			return Push{}, "", fmt.Errorf("%s.action: missing", prefix)
		}
		return Push{}, ev.Action, nil
	case !manifestMediaTypes[ev.Target.MediaType]:
		return Push{}, "blob push", nil
	case ev.Target.Tag == "":
		return Push{}, "untagged manifest push", nil
	}
	host, hostField := ev.Request.Host, prefix+".request.host"
	if hostOverride != "" {
		host, hostField = hostOverride, "the configured registry host"
	}
	if host == "" {
		return Push{}, "", fmt.Errorf("%s: missing (or configure the registry host)", hostField)
	}
	if ev.Target.Repository == "" {
		return Push{}, "", fmt.Errorf("%s.target.repository: missing", prefix)
	}
	var pushedAt time.Time
	if ev.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
		if err != nil {
			return Push{}, "", fmt.Errorf("%s.timestamp: %q is not an RFC 3339 time", prefix, clip(ev.Timestamp))
		}
		pushedAt = t.UTC()
	}
	push, err := newPush(SourceRegistry,
		field{hostField + " + " + prefix + ".target.repository", host + "/" + ev.Target.Repository},
		field{prefix + ".target.tag", ev.Target.Tag},
		field{prefix + ".target.digest", ev.Target.Digest},
		pushedAt)
	if errors.Is(err, ErrIgnored) {
		return Push{}, "signature or attestation tag", nil
	}
	if err != nil {
		// The event is skipped, not the envelope: keep the message only.
		return Push{}, "", errors.New(strings.TrimPrefix(err.Error(), ErrBadPayload.Error()+": "))
	}
	return push, "", nil
}

// checkRegistryContentType accepts the envelope media types and plain JSON.
func checkRegistryContentType(contentType string) error {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && (mt == RegistryEventsV1 || mt == RegistryEventsV2 || mt == "application/json") {
		return nil
	}
	return badPayload("Content-Type %q: want %s, %s or application/json", clip(contentType), RegistryEventsV1, RegistryEventsV2)
}

// registryHostRe is the registry part of an image reference: host[:port].
var registryHostRe = regexp.MustCompile(`^` + reference.DomainRegexp.String() + `$`)

// CheckRegistryHost checks a registry host override (Receiver.RegistryHost,
// cutover serve --hooks-registry-host): it must be the registry part of an
// image reference, host[:port] ("127.0.0.1:5000", "registry.example.com"),
// as compose files name it. Anything else would make every registry push
// unreadable — answered 200 and skipped, so never retried — or, for a
// name docker reads as a Docker Hub namespace ("registry"), a push of
// another repository. "" (no override) is fine.
func CheckRegistryHost(host string) error {
	if host == "" {
		return nil
	}
	if !registryHostRe.MatchString(host) {
		return errors.New("want host[:port] as image references name a registry (e.g. 127.0.0.1:5000 or registry.example.com), without scheme or path")
	}
	named, err := reference.ParseNormalizedNamed(host + "/web")
	switch {
	case err != nil:
		return fmt.Errorf("%s/<repo> is not an image repository: %w", clip(host), err)
	case reference.Domain(named) != host:
		return fmt.Errorf("docker reads %s/<repo> as a Docker Hub repository: a registry host needs a dot or a port, or is localhost (e.g. %s:5000)", clip(host), clip(host))
	}
	return nil
}

// summarize lists why events were skipped:
// " (blob push: 3, pull: 1; events[2].target.tag: …)".
func summarize(skipped map[string]int, problems []string) string {
	var parts []string
	for reason, n := range skipped {
		parts = append(parts, fmt.Sprintf("%s: %d", reason, n))
	}
	sort.Strings(parts)
	if len(problems) > 3 {
		problems = append(problems[:3:3], fmt.Sprintf("and %d more", len(problems)-3))
	}
	all := strings.Join(parts, ", ")
	if len(problems) > 0 {
		if all != "" {
			all += "; "
		}
		all += strings.Join(problems, "; ")
	}
	if all == "" {
		return ""
	}
	return " (" + all + ")"
}
