package webhook

import (
	"strings"
	"time"

	"github.com/distribution/reference"
)

// GitHubEventHeader names the GitHub event of a delivery.
const GitHubEventHeader = "X-GitHub-Event"

// ghPayload is the part of a GitHub "package" or "registry_package" event
// cutover reads; both carry the same object, under a different key:
//
//	{"action": "published",
//	 "package": {"name": "web", "namespace": "myorg", "package_type": "CONTAINER",
//	   "package_version": {"version": "sha256:...", "package_url": "ghcr.io/myorg/web:1.4.2",
//	     "container_metadata": {"tag": {"name": "1.4.2", "digest": "sha256:..."}}}}}
type ghPayload struct {
	Action          string     `json:"action"`
	Package         *ghPackage `json:"package"`
	RegistryPackage *ghPackage `json:"registry_package"`
}

type ghPackage struct {
	Name           string `json:"name"`
	Namespace      string `json:"namespace"`
	PackageType    string `json:"package_type"`
	UpdatedAt      string `json:"updated_at"`
	PackageVersion *struct {
		Version           string `json:"version"`
		PackageURL        string `json:"package_url"`
		CreatedAt         string `json:"created_at"`
		UpdatedAt         string `json:"updated_at"`
		ContainerMetadata *struct {
			Tag *struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"tag"`
		} `json:"container_metadata"`
	} `json:"package_version"`
}

// ParseGitHub parses a GitHub webhook delivery whose X-GitHub-Event header
// is event. Only "package" and "registry_package" events about a container
// package, published or updated, with a tag, give a Push; a ping, other
// events, other package types and untagged manifests (the per-platform
// images of a multi-arch push, which GitHub announces one by one) are
// ErrIgnored. Verify the signature over the raw body (VerifySignature)
// before calling it. GitHub may deliver the same push as both event kinds:
// they have the same Push.Key.
func ParseGitHub(event string, body []byte) (Push, error) {
	switch event {
	case "package", "registry_package":
	case "":
		return Push{}, badPayload("%s header: missing (is this a GitHub webhook?)", GitHubEventHeader)
	case "ping":
		return Push{}, ignored("ping: GitHub checks that the hook answers; nothing to deploy")
	default:
		return Push{}, ignored("event %q: only package and registry_package events deploy", clip(event))
	}
	var p ghPayload
	if err := decodeJSON(body, &p, false); err != nil {
		return Push{}, err
	}
	pkg := p.Package
	if event == "registry_package" {
		pkg = p.RegistryPackage
	}
	switch {
	case pkg == nil:
		return Push{}, badPayload("%s: missing in a %s event", event, event)
	case p.Action != "published" && p.Action != "updated":
		if p.Action == "" {
			return Push{}, badPayload("action: missing")
		}
		return Push{}, ignored("action %q: only published and updated packages deploy", clip(p.Action))
	case !strings.EqualFold(pkg.PackageType, "container"):
		return Push{}, ignored("%s.package_type %q: only container packages deploy", event, clip(pkg.PackageType))
	case pkg.PackageVersion == nil:
		return Push{}, badPayload("%s.package_version: missing", event)
	}
	v := pkg.PackageVersion
	var tag, digest string
	if m := v.ContainerMetadata; m != nil && m.Tag != nil {
		tag, digest = m.Tag.Name, m.Tag.Digest
	}
	if tag == "" {
		return Push{}, ignored("%s.package_version.container_metadata.tag.name is empty: an untagged manifest (one platform of a multi-arch push)", event)
	}
	digestField := event + ".package_version.container_metadata.tag.digest"
	if digest == "" && strings.HasPrefix(v.Version, "sha") {
		digest, digestField = v.Version, event+".package_version.version"
	}
	repo, err := ghRepo(event, pkg)
	if err != nil {
		return Push{}, err
	}
	return newPush(SourceGitHub, repo,
		field{event + ".package_version.container_metadata.tag.name", tag},
		field{digestField, digest},
		firstTime(v.UpdatedAt, v.CreatedAt, pkg.UpdatedAt))
}

// ghRepo is the package's repository: package_url without its tag or
// digest ("ghcr.io/myorg/web"), else ghcr.io/<namespace>/<name>. ghcr.io
// names are lower case, GitHub logins need not be.
func ghRepo(event string, pkg *ghPackage) (field, error) {
	if u := pkg.PackageVersion.PackageURL; u != "" {
		if named, err := reference.ParseNormalizedNamed(strings.ToLower(u)); err == nil {
			return field{event + ".package_version.package_url", reference.TrimNamed(named).Name()}, nil
		}
	}
	if pkg.Namespace == "" || pkg.Name == "" {
		return field{}, badPayload("%s.package_version.package_url: missing or unreadable, and no %s.namespace and %s.name", event, event, event)
	}
	return field{event + ".namespace/name", "ghcr.io/" + strings.ToLower(pkg.Namespace+"/"+pkg.Name)}, nil
}

// firstTime is the first of the RFC 3339 times that parses; zero if none.
func firstTime(values ...string) time.Time {
	for _, s := range values {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
