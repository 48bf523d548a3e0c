package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/registry"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/strategies"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// Apply redeploys every stack with a drifted service (trigger "check"):
	// the drifted services get their tag pinned to the registry's digest,
	// the others keep what they run.
	Apply bool
	// LockWait waits this long for a deploy of the stack in progress.
	LockWait time.Duration
}

// Check compares the digest each running image has in its repository with
// the digest the registry serves for its tag now (one HEAD request per
// tag, no pull, credentials from the docker config): stack's services, or
// every stack's when stack is "". With Apply it redeploys what drifted.
func (o *Ops) Check(ctx context.Context, stack string, opts CheckOptions, obs deploy.Observer) (api.CheckReport, error) {
	names := []string{stack}
	if stack == "" {
		all, err := o.Store.ListStacks(ctx)
		if err != nil {
			return api.CheckReport{}, api.EnvError(err)
		}
		names = names[:0]
		for _, s := range all {
			names = append(names, s.Name)
		}
	} else if _, err := o.Store.GetStack(ctx, stack); err != nil {
		if errors.Is(err, store.ErrStackNotFound) {
			return api.CheckReport{}, deploy.BadInput(fmt.Sprintf("no stack named %q", stack))
		}
		return api.CheckReport{}, api.EnvError(err)
	}
	if _, err := o.Engine.Ping(ctx); err != nil {
		return api.CheckReport{}, api.EnvError(fmt.Errorf("docker engine: %w", err))
	}
	lookup := o.digestLookup()
	report := api.CheckReport{Stacks: []api.StackCheck{}}
	for _, name := range names {
		sc, base, st := o.checkStack(ctx, name, lookup)
		if opts.Apply && st != nil {
			o.applyCheck(ctx, &sc, base, st, opts.LockWait, obs)
		}
		report.Stacks = append(report.Stacks, sc)
	}
	for _, sc := range report.Stacks {
		for _, s := range sc.Services {
			if s.Status == api.CheckDrifted {
				report.Drifted++
			}
		}
	}
	return report, ctx.Err()
}

// digestLookup asks the registry once per tag within one check.
func (o *Ops) digestLookup() func(ctx context.Context, ref string) (string, error) {
	type answer struct {
		digest string
		err    error
	}
	seen := map[string]answer{}
	return func(ctx context.Context, ref string) (string, error) {
		key := ref
		if r, err := registry.ParseRef(ref); err == nil && r.Tag != "" {
			key = r.Name() + ":" + r.Tag
		}
		if a, ok := seen[key]; ok {
			return a.digest, a.err
		}
		src, err := o.registry()
		if err != nil {
			return "", err
		}
		d, err := src.Digest(ctx, ref)
		seen[key] = answer{d, err}
		return d, err
	}
}

// checkStack checks one stack's running images against the registry. It
// returns the serving release it compared with and its stack (zero and nil
// when skipped).
func (o *Ops) checkStack(ctx context.Context, name string, lookup func(context.Context, string) (string, error)) (api.StackCheck, store.Release, *compose.Stack) {
	sc := api.StackCheck{Stack: name}
	base, st, err := o.deployer(nil).Serving(ctx, name)
	if err != nil {
		if errors.Is(err, deploy.ErrBadInput) {
			sc.Skipped = err.Error()
		} else {
			sc.Error = err.Error()
		}
		return sc, store.Release{}, nil
	}
	sc.Release = base.Number
	containers, err := o.servingContainers(ctx, name, base)
	if err != nil {
		sc.Error = err.Error()
		return sc, base, st
	}
	type key struct{ service, image, id string }
	groups := map[key][]string{}
	for _, c := range containers {
		svc := c.Labels[compose.LabelService]
		if _, ok := st.Project.Services[svc]; !ok {
			continue
		}
		k := key{svc, c.Image, c.ImageID}
		groups[k] = append(groups[k], c.Name)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].service != keys[j].service {
			return keys[i].service < keys[j].service
		}
		return keys[i].image < keys[j].image
	})
	for _, k := range keys {
		names := groups[k]
		sort.Strings(names)
		s := api.ServiceCheck{Service: k.service, Image: k.image, Containers: names, Watched: st.Services[k.service].Watch != nil}
		o.checkImage(ctx, &s, k.id, lookup)
		sc.Services = append(sc.Services, s)
	}
	return sc, base, st
}

// servingContainers are the running containers of the serving release: the
// stack's own project, and its serving color's for blue-green.
func (o *Ops) servingContainers(ctx context.Context, name string, base store.Release) ([]engine.Container, error) {
	projects := []string{name}
	if base.Color != "" {
		projects = append(projects, compose.ColorProject(name, base.Color))
	}
	var out []engine.Container
	for _, p := range projects {
		cs, err := o.Engine.ListContainers(ctx, map[string]string{compose.LabelProject: p})
		if err != nil {
			return nil, api.EnvError(err)
		}
		for _, c := range cs {
			if c.Running() && !strategies.IsTemporaryName(c.Name) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// checkImage fills in one image's digests and status.
func (o *Ops) checkImage(ctx context.Context, s *api.ServiceCheck, imageID string, lookup func(context.Context, string) (string, error)) {
	s.Status = api.CheckUnknown
	ref, err := registry.ParseRef(s.Image)
	if err != nil {
		s.Reason = err.Error()
		return
	}
	if ref.Tag == "" {
		s.Reason = "pinned by digest: there is no tag to follow"
		return
	}
	img, err := o.Engine.InspectImage(ctx, imageID)
	if err != nil {
		s.Reason = fmt.Sprintf("inspecting the running image %s: %v", imageID, err)
		return
	}
	s.Running = deploy.RepoDigest(s.Image, img.RepoDigests)
	if s.Running == "" {
		s.Reason = fmt.Sprintf("the running image has no digest from %s: it was built or loaded here, never pulled from or pushed to that registry", ref.Name())
		return
	}
	s.Registry, err = lookup(ctx, s.Image)
	if err != nil {
		s.Reason = err.Error()
		return
	}
	if s.Registry == s.Running {
		s.Status = api.CheckCurrent
		return
	}
	s.Status = api.CheckDrifted
	s.Reason = fmt.Sprintf("%s:%s now names %s", ref.Name(), ref.Tag, registry.ShortDigest(s.Registry))
}

// applyCheck redeploys a checked stack's drifted services, pinned to the
// digest the registry serves for their tag.
func (o *Ops) applyCheck(ctx context.Context, sc *api.StackCheck, base store.Release, st *compose.Stack, lockWait time.Duration, obs deploy.Observer) {
	images := driftedImages(*sc)
	if len(images) == 0 || sc.Error != "" {
		return
	}
	res, err := o.Redeploy(ctx, base, st, images, deploy.Request{Trigger: TriggerCheck, LockWait: lockWait}, obs)
	if res.Release.Number > 0 {
		rel := res.Release
		rel.Spec, rel.Steps, rel.Confirm = nil, nil, nil
		sc.Redeploy = &rel
	}
	if err != nil {
		sc.Error, sc.Kind = err.Error(), api.KindOf(err)
	}
}

// TriggerCheck is the trigger of releases cutover check makes.
const TriggerCheck = "check"

// driftedImages maps each drifted service to its image pinned to the
// registry's digest.
func driftedImages(sc api.StackCheck) map[string]string {
	images := map[string]string{}
	for _, s := range sc.Services {
		if s.Status != api.CheckDrifted {
			continue
		}
		ref, err := deploy.PinRef(s.Image, "", s.Registry)
		if err != nil {
			continue
		}
		images[s.Service] = ref
	}
	return images
}
