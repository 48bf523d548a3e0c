package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
)

// imageRefs returns the reference each service will run: the --image
// override, else the compose image, else the name compose gives a build.
func imageRefs(st *compose.Stack, overrides map[string]string) map[string]string {
	refs := map[string]string{}
	for _, name := range st.ServiceNames() {
		svc := st.Project.Services[name]
		switch {
		case overrides[name] != "":
			refs[name] = overrides[name]
		case svc.Image != "":
			refs[name] = svc.Image
		default:
			refs[name] = compose.DefaultImageName(st.Name, name)
		}
	}
	return refs
}

// prepareImages makes every service's image present locally, as docker
// compose up would: build when the service has a build section and the image
// is missing (or pull_policy is build), pull when missing (or pull_policy is
// always). An --image override names an image to run, never one to build:
// it is pulled when missing. It returns what each service runs.
func (d *Deployer) prepareImages(ctx context.Context, st *compose.Stack, refs, overrides map[string]string, pull string, release int) (map[string]compose.ResolvedImage, map[string]store.ImageRef, error) {
	resolved := map[string]compose.ResolvedImage{}
	records := map[string]store.ImageRef{}
	done := map[string]engine.Image{} // ref → image, so a shared image is fetched once
	for _, name := range st.ServiceNames() {
		svc := st.Project.Services[name]
		ref := refs[name]
		img, ok := done[ref]
		if !ok {
			var err error
			if overrides[name] != "" {
				svc.Build = nil
			}
			if pull != "" {
				svc.PullPolicy = pull
			}
			img, err = d.ensureImage(ctx, st, svc, ref, release)
			if err != nil {
				return nil, nil, fmt.Errorf("service %s: %w", name, err)
			}
			done[ref] = img
		}
		resolved[name] = compose.ResolvedImage{Ref: ref, ID: img.ID}
		records[name] = store.ImageRef{Ref: ref, ID: img.ID, Digest: digestFor(ref, img.RepoDigests)}
	}
	return resolved, records, nil
}

func (d *Deployer) ensureImage(ctx context.Context, st *compose.Stack, svc types.ServiceConfig, ref string, release int) (engine.Image, error) {
	policy := svc.PullPolicy
	local, err := d.Engine.InspectImage(ctx, ref)
	present := err == nil
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return engine.Image{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	build := svc.Build != nil
	switch {
	case build && (policy == types.PullPolicyBuild || !present && policy != types.PullPolicyNever):
		if err := d.build(ctx, st, svc, ref, release); err != nil {
			return engine.Image{}, err
		}
	case policy == types.PullPolicyAlways || !present && policy != types.PullPolicyNever:
		if err := d.pull(ctx, st.Name, svc.Name, ref, release); err != nil {
			return engine.Image{}, err
		}
	case !present:
		return engine.Image{}, fmt.Errorf("image %s is not present locally and pull_policy is never", ref)
	default:
		return local, nil
	}
	img, err := d.Engine.InspectImage(ctx, ref)
	if err != nil {
		return engine.Image{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return img, nil
}

func (d *Deployer) pull(ctx context.Context, stack, service, ref string, release int) error {
	d.emit(Event{Stack: stack, Release: release, Kind: KindImage, Action: "pull", Target: ref, Service: service, Status: "started"})
	err := d.Engine.PullImage(ctx, ref, func(p engine.ImageProgress) {
		d.emit(Event{Stack: stack, Release: release, Kind: KindImage, Action: "pull", Target: ref, Service: service,
			Status: "progress", Message: strings.TrimSpace(p.ID + " " + p.Status), Current: p.Current, Total: p.Total})
	})
	status := "done"
	if err != nil {
		status = "failed"
	}
	d.emit(Event{Stack: stack, Release: release, Kind: KindImage, Action: "pull", Target: ref, Service: service, Status: status, Error: errText(err)})
	return err
}

func (d *Deployer) build(ctx context.Context, st *compose.Stack, svc types.ServiceConfig, ref string, release int) error {
	b := svc.Build
	if b.DockerfileInline != "" {
		return fmt.Errorf("services.%s.build.dockerfile_inline is not supported by cutover; write a Dockerfile", svc.Name)
	}
	dockerfile := b.Dockerfile
	if filepath.IsAbs(dockerfile) {
		rel, err := filepath.Rel(b.Context, dockerfile)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("services.%s.build.dockerfile %s must be inside the build context %s", svc.Name, dockerfile, b.Context)
		}
		dockerfile = rel
	}
	spec := engine.BuildSpec{
		ContextDir: b.Context,
		Dockerfile: dockerfile,
		Args:       b.Args,
		Target:     b.Target,
		Tags:       append([]string{ref}, b.Tags...),
		Labels:     b.Labels,
		NoCache:    b.NoCache,
	}
	d.emit(Event{Stack: st.Name, Release: release, Kind: KindImage, Action: "build", Target: ref, Service: svc.Name, Status: "started"})
	err := d.Engine.BuildImage(ctx, spec, func(p engine.ImageProgress) {
		if msg := strings.TrimSpace(p.Status); msg != "" {
			d.emit(Event{Stack: st.Name, Release: release, Kind: KindImage, Action: "build", Target: ref, Service: svc.Name, Status: "progress", Message: msg})
		}
	})
	status := "done"
	if err != nil {
		status = "failed"
		err = fmt.Errorf("building %s: %w", ref, err)
	}
	d.emit(Event{Stack: st.Name, Release: release, Kind: KindImage, Action: "build", Target: ref, Service: svc.Name, Status: status, Error: errText(err)})
	return err
}

// digestFor picks the repo digest matching ref's repository, as
// repo@sha256:…; ref itself when it pins one.
func digestFor(ref string, repoDigests []string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	if c, ok := named.(reference.Canonical); ok {
		return reference.FamiliarString(c)
	}
	if dg := RepoDigest(ref, repoDigests); dg != "" {
		return reference.FamiliarName(named) + "@" + dg
	}
	return ""
}

// RepoDigest is the digest of an image in ref's repository, from the
// image's RepoDigests ("repo@sha256:…"): the one whose repository is
// ref's; "" when none is.
func RepoDigest(ref string, repoDigests []string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	for _, rd := range repoDigests {
		n, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		if c, ok := n.(reference.Canonical); ok && n.Name() == named.Name() {
			return c.Digest().String()
		}
	}
	return ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
