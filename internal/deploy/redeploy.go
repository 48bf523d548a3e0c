package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/store"
)

// ErrBaseMoved: a Redeploy was built from a release that no longer serves
// once the stack's lock was taken (another deploy ran first). Nothing was
// changed or recorded; build the request again from the new serving release.
var ErrBaseMoved = errors.New("the serving release changed")

// Serving returns the release a stack serves (active, or awaiting
// confirmation) and the stack as that release recorded it. A stack taken
// down, or without a serving release, is bad input.
func (d *Deployer) Serving(ctx context.Context, stack string) (store.Release, *compose.Stack, error) {
	rec, err := d.Store.GetStack(ctx, stack)
	if err != nil {
		if errors.Is(err, store.ErrStackNotFound) {
			return store.Release{}, nil, BadInput(fmt.Sprintf("no stack named %q", stack))
		}
		return store.Release{}, nil, err
	}
	if rec.Down {
		return store.Release{}, nil, BadInput(fmt.Sprintf("stack %s is down (cutover down); deploy it again first", stack))
	}
	rel, err := d.Store.LatestRelease(ctx, stack, store.StatusActive, store.StatusAwaitingConfirm)
	if err != nil {
		if errors.Is(err, store.ErrReleaseNotFound) {
			return store.Release{}, nil, BadInput(fmt.Sprintf("stack %s has no serving release", stack))
		}
		return store.Release{}, nil, err
	}
	st, err := d.stackOf(ctx, rel)
	if err != nil {
		return store.Release{}, nil, err
	}
	return rel, st, nil
}

// Redeploy runs a new release of a stack from its serving release base:
// base's recorded spec, every service on the image it runs now (its tag,
// pinned to what it ran if the tag has moved since), except the services in
// images, which run those references. This is how pushes and drift checks
// deploy: they change the images they concern and nothing else, whatever
// the compose files say today (their interpolation would use this
// process's environment, not the one of the CLI that deployed them).
//
// The strategy is the stack's (the one its last successful release used)
// unless req names one. If another release serves once the stack's lock is
// taken, nothing is done and the error wraps ErrBaseMoved.
func (d *Deployer) Redeploy(ctx context.Context, stack string, base store.Release, images map[string]string, req Request) (Result, error) {
	st, err := d.stackOf(ctx, base)
	if err != nil {
		return Result{}, err
	}
	return d.RedeployFrom(ctx, base, st, images, req)
}

// RedeployFrom is Redeploy for a caller that has base's stack loaded
// already (from Serving), which it does not load again.
func (d *Deployer) RedeployFrom(ctx context.Context, base store.Release, st *compose.Stack, images map[string]string, req Request) (Result, error) {
	rec, err := d.Store.GetStack(ctx, st.Name)
	if err != nil {
		return Result{}, BadInput(err.Error())
	}
	if rec.Down {
		return Result{}, BadInput(fmt.Sprintf("stack %s is down (cutover down); deploy it again first", st.Name))
	}
	req.Stack = st
	req.Base = base.Number
	req.Images = map[string]string{}
	for svc, ref := range images {
		req.Images[svc] = ref
	}
	for _, svc := range st.ServiceNames() {
		if req.Images[svc] != "" {
			continue
		}
		if img, ok := base.Images[svc]; ok && img.Ref != "" {
			req.Images[svc] = d.keepRef(ctx, img)
		}
	}
	if req.Strategy == "" {
		req.Strategy = rec.Strategy
	}
	return d.Deploy(ctx, req)
}

// checkBase refuses a Redeploy whose base release no longer serves.
func (d *Deployer) checkBase(ctx context.Context, stack string, base int) error {
	if base == 0 {
		return nil
	}
	cur, err := d.Store.LatestRelease(ctx, stack, store.StatusActive, store.StatusAwaitingConfirm)
	if err != nil {
		return fmt.Errorf("release %d of %s no longer serves: %w", base, stack, ErrBaseMoved)
	}
	if cur.Number != base {
		return fmt.Errorf("release %d of %s no longer serves (release %d does): %w", base, stack, cur.Number, ErrBaseMoved)
	}
	return nil
}

// keepRef names the image a service runs so that a new release runs it
// again (see ranRef); its reference as recorded when nothing names it
// better.
func (d *Deployer) keepRef(ctx context.Context, img store.ImageRef) string {
	if ref, ok := d.ranRef(ctx, img); ok {
		return ref
	}
	return img.Ref
}

// ranRef names exactly the image a release ran: its reference while that
// is pinned or the tag still names the same image here, else the tag
// pinned to the digest it ran (repo:tag@sha256:…), else its image ID
// while the engine has it. It reports false when none of those is known.
func (d *Deployer) ranRef(ctx context.Context, img store.ImageRef) (string, bool) {
	if strings.Contains(img.Ref, "@") {
		return img.Ref, true
	}
	if local, err := d.Engine.InspectImage(ctx, img.Ref); err == nil && (img.ID == "" || local.ID == img.ID) {
		return img.Ref, true
	}
	if dg := DigestOf(img.Digest); dg != "" {
		if ref, err := PinRef(img.Ref, "", dg); err == nil {
			return ref, true
		}
	}
	if img.ID != "" {
		if _, err := d.Engine.InspectImage(ctx, img.ID); err == nil {
			return img.ID, true
		}
	}
	return "", false
}

// DigestOf is the digest of a pinned reference ("repo@sha256:…" or a bare
// "sha256:…"); "" when it has none.
func DigestOf(s string) string {
	if _, dg, ok := strings.Cut(s, "@"); ok {
		return dg
	}
	if strings.HasPrefix(s, "sha256:") || strings.HasPrefix(s, "sha512:") {
		return s
	}
	return ""
}

// PinRef returns ref with its tag replaced by tag (when tag is not empty)
// and pinned to digest (when not empty), written as ref was
// ("myorg/web:1.4.2" with tag 1.4.3 → "myorg/web:1.4.3@sha256:…"). The
// engine looks a reference with both up by its digest, and pulls by it.
func PinRef(ref, tag, digest string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	if tag == "" {
		if t, ok := named.(reference.Tagged); ok {
			tag = t.Tag()
		}
	}
	out := reference.TrimNamed(named)
	if tag != "" {
		if out, err = reference.WithTag(out, tag); err != nil {
			return "", fmt.Errorf("image %q, tag %q: %w", ref, tag, err)
		}
	}
	if digest == "" {
		if dg, ok := named.(reference.Digested); ok {
			digest = dg.Digest().String()
		}
	}
	if digest != "" {
		pinned, err := reference.ParseNormalizedNamed(out.String() + "@" + digest)
		if err != nil {
			return "", fmt.Errorf("image %q, digest %q: %w", ref, digest, err)
		}
		out = pinned
	}
	if isFamiliar(ref) {
		return reference.FamiliarString(out), nil
	}
	return out.String(), nil
}

// isFamiliar reports whether ref was written in docker's short form
// (myorg/web rather than docker.io/myorg/web).
func isFamiliar(ref string) bool {
	named, err := reference.ParseNormalizedNamed(ref)
	return err == nil && !strings.HasPrefix(ref, reference.Domain(named)+"/")
}
