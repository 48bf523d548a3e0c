package webhook

import (
	"log/slog"
	"regexp"
	"time"

	"github.com/distribution/reference"
)

// Sources of a push.
const (
	SourceDockerHub = "dockerhub"
	SourceRegistry  = "registry"
	SourceGitHub    = "github"
	SourceGeneric   = "generic"
)

// Push is one image tag pushed to a registry, whatever sent the
// notification.
type Push struct {
	// Source is SourceDockerHub, SourceRegistry, SourceGitHub or
	// SourceGeneric.
	Source string
	// Repo is the repository, normalised the way docker does
	// (github.com/distribution/reference): "docker.io/myorg/web",
	// "docker.io/library/nginx", "127.0.0.1:5000/web", "ghcr.io/org/app".
	Repo string
	// Tag is the pushed tag; never empty.
	Tag string
	// Digest is the manifest digest ("sha256:…") when the sender gives it
	// (registry, GitHub, generic); Docker Hub does not.
	Digest string
	// PushedAt is when the push happened, if the sender says; zero otherwise.
	PushedAt time.Time
	// CallbackURL is Docker Hub's legacy callback URL (only https URLs on
	// docker.com are kept); empty for other sources.
	CallbackURL string
}

// Image is the pushed image reference: repo:tag, or repo:tag@digest when
// the digest is known.
func (p Push) Image() string {
	if p.Digest != "" {
		return p.Repo + ":" + p.Tag + "@" + p.Digest
	}
	return p.Repo + ":" + p.Tag
}

// Key identifies the image a push names, for de-duplication (see Dedupe):
// source, repo, tag and digest when the digest is known — a GitHub push
// delivered as both a "package" and a "registry_package" event, or a
// notification the registry retries, has the same key. Without a digest
// (Docker Hub) the key holds pushed_at instead, so the several hooks of one
// multi-arch push that carry the same pushed_at collapse, while a later push
// of the same tag does not. Key is "" when nothing tells one push from
// another; such a push is never dropped as a duplicate.
func (p Push) Key() string {
	switch {
	case p.Digest != "":
		return p.slot() + "@" + p.Digest
	case !p.PushedAt.IsZero():
		return p.slot() + " at " + p.PushedAt.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// slot is what a push moves: the source's view of one repo:tag. Dedupe
// remembers the last push per slot.
func (p Push) slot() string {
	return p.Source + " " + p.Repo + ":" + p.Tag
}

// LogValue logs the push without its callback URL (a capability URL: whoever
// has it can set the Docker Hub build status).
func (p Push) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("source", p.Source),
		slog.String("repo", p.Repo),
		slog.String("tag", p.Tag),
	}
	if p.Digest != "" {
		attrs = append(attrs, slog.String("digest", p.Digest))
	}
	if !p.PushedAt.IsZero() {
		attrs = append(attrs, slog.Time("pushed_at", p.PushedAt))
	}
	return slog.GroupValue(attrs...)
}

// digestRe is a manifest digest as registries report them.
var digestRe = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)

// signatureTagRe matches the tags cosign and the OCI referrers fallback push
// next to an image (sha256-<hex>, .sig, .att, .sbom): never a deploy.
var signatureTagRe = regexp.MustCompile(`^sha256-[a-f0-9]{64}(\.[a-z]+)?$`)

// field is a payload value with the name of the field it came from, for
// error messages.
type field struct {
	name, value string
}

// newPush validates and normalises what a parser extracted. Errors wrap
// ErrBadPayload and name the field; a signature or attestation tag is
// ErrIgnored.
func newPush(source string, repo, tag, digest field, pushedAt time.Time) (Push, error) {
	if repo.value == "" {
		return Push{}, badPayload("%s: missing", repo.name)
	}
	named, err := reference.ParseNormalizedNamed(repo.value)
	if err != nil {
		return Push{}, badPayload("%s: %q is not an image repository: %v", repo.name, clip(repo.value), err)
	}
	if !reference.IsNameOnly(named) {
		return Push{}, badPayload("%s: %q must be a repository without tag or digest", repo.name, clip(repo.value))
	}
	if tag.value == "" {
		return Push{}, badPayload("%s: missing", tag.name)
	}
	if _, err := reference.WithTag(named, tag.value); err != nil {
		return Push{}, badPayload("%s: %q is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)", tag.name, clip(tag.value))
	}
	if digest.value != "" && !digestRe.MatchString(digest.value) {
		return Push{}, badPayload("%s: %q is not a digest like sha256:<64 hex digits>", digest.name, clip(digest.value))
	}
	if signatureTagRe.MatchString(tag.value) {
		return Push{}, ignored("%s: %q is a signature or attestation tag, not an image to deploy", tag.name, tag.value)
	}
	return Push{
		Source:   source,
		Repo:     named.Name(),
		Tag:      tag.value,
		Digest:   digest.value,
		PushedAt: pushedAt,
	}, nil
}
