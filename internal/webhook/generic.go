package webhook

import (
	"time"

	"github.com/distribution/reference"
)

// genericPayload is cutover's own notification format, for CI scripts and
// registries cutover has no parser for:
//
//	{"image": "myorg/web", "tag": "1.4.2", "digest": "sha256:..."}
//
// image may also carry the tag and digest ("myorg/web:1.4.2"); digest is
// optional. Unknown fields are refused, so a typo does not go unnoticed.
type genericPayload struct {
	Image  string `json:"image"`
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
}

// ParseGeneric parses the generic format. Authenticate the request first
// (X-Cutover-Signature-256 with VerifySignature, or a bearer token with
// CheckAuthorization).
func ParseGeneric(body []byte) (Push, error) {
	var p genericPayload
	if err := decodeJSON(body, &p, true); err != nil {
		return Push{}, err
	}
	if p.Image == "" {
		return Push{}, badPayload("image: missing")
	}
	named, err := reference.ParseNormalizedNamed(p.Image)
	if err != nil {
		return Push{}, badPayload("image: %q is not an image reference: %v", clip(p.Image), err)
	}
	tag, digest := p.Tag, p.Digest
	if t, ok := named.(reference.Tagged); ok {
		if tag != "" && tag != t.Tag() {
			return Push{}, badPayload("tag %q differs from the tag in image %q", clip(tag), clip(p.Image))
		}
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		if digest != "" && digest != d.Digest().String() {
			return Push{}, badPayload("digest %q differs from the digest in image %q", clip(digest), clip(p.Image))
		}
		digest = d.Digest().String()
	}
	if tag == "" {
		return Push{}, badPayload("tag: missing (give tag, or image as repo:tag)")
	}
	return newPush(SourceGeneric,
		field{"image", reference.TrimNamed(named).Name()},
		field{"tag", tag},
		field{"digest", digest},
		time.Time{})
}
