package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/registryauth"
)

// InspectImage returns a local image; the error wraps engine.ErrNotFound
// when it is absent.
func (e *Engine) InspectImage(ctx context.Context, ref string) (engine.Image, error) {
	info, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		return engine.Image{}, wrap(err, "inspecting image %s", ref)
	}
	return engine.Image{
		ID:          info.ID,
		RepoTags:    info.RepoTags,
		RepoDigests: info.RepoDigests,
		Created:     parseTime(info.Created),
	}, nil
}

// PullImage pulls ref (":latest" when it names no tag or digest), sending
// registry credentials from the docker client config for ref's registry.
// It reads the engine's progress stream to the end and fails on an error
// reported mid-stream, although the HTTP status was 200.
func (e *Engine) PullImage(ctx context.Context, ref string, progress func(engine.ImageProgress)) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("pulling %s: invalid image reference: %w", ref, err)
	}
	named = reference.TagNameOnly(named)
	display := reference.FamiliarString(named)

	creds, err := e.credentials()
	if err != nil {
		return fmt.Errorf("pulling %s: %w", display, err)
	}
	auth, err := creds.ForRegistry(ctx, reference.Domain(named))
	if err != nil {
		return fmt.Errorf("pulling %s: registry credentials: %w", display, err)
	}
	var opts image.PullOptions
	if !registryauth.IsEmpty(auth) {
		if opts.RegistryAuth, err = registryauth.Encode(auth); err != nil {
			return fmt.Errorf("pulling %s: %w", display, err)
		}
	}

	rc, err := e.cli.ImagePull(ctx, named.String(), opts)
	if err != nil {
		return wrap(err, "pulling %s", display)
	}
	defer rc.Close()
	err = readJSONStream(rc, func(m jsonmessage.JSONMessage) {
		if progress == nil {
			return
		}
		p := engine.ImageProgress{ID: m.ID, Status: m.Status}
		if m.Progress != nil {
			p.Current, p.Total = m.Progress.Current, m.Progress.Total
		}
		progress(p)
	})
	if err != nil {
		return fmt.Errorf("pulling %s: %w", display, err)
	}
	return nil
}

// BuildImage builds an image with the classic builder from a local context
// directory, honouring its .dockerignore. Each line of builder output is
// reported through progress; a build error fails with the builder's message.
func (e *Engine) BuildImage(ctx context.Context, spec engine.BuildSpec, progress func(engine.ImageProgress)) error {
	what := spec.ContextDir
	if len(spec.Tags) > 0 {
		what = spec.Tags[0]
	}
	buildCtx, dockerfile, err := buildContext(spec.ContextDir, spec.Dockerfile)
	if err != nil {
		return fmt.Errorf("building %s: %w", what, err)
	}
	defer buildCtx.Close()

	// Credentials for private base images. Like the docker CLI, a registry
	// whose credentials cannot be read is left out rather than failing
	// builds that may not need it.
	var authConfigs map[string]registry.AuthConfig
	if creds, err := e.credentials(); err == nil {
		authConfigs, _ = creds.All(ctx)
	}

	resp, err := e.cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Version:     build.BuilderV1,
		Dockerfile:  dockerfile,
		BuildArgs:   spec.Args,
		Target:      spec.Target,
		Tags:        spec.Tags,
		Labels:      spec.Labels,
		NoCache:     spec.NoCache,
		Remove:      true,
		ForceRemove: true,
		AuthConfigs: authConfigs,
	})
	if err != nil {
		return wrap(err, "building %s", what)
	}
	defer resp.Body.Close()
	err = readJSONStream(resp.Body, func(m jsonmessage.JSONMessage) {
		if progress == nil {
			return
		}
		if m.Stream != "" {
			for _, line := range strings.Split(strings.TrimRight(m.Stream, "\r\n"), "\n") {
				if line = strings.TrimRight(line, "\r"); line != "" {
					progress(engine.ImageProgress{Status: line})
				}
			}
			return
		}
		if m.Status != "" {
			p := engine.ImageProgress{ID: m.ID, Status: m.Status}
			if m.Progress != nil {
				p.Current, p.Total = m.Progress.Current, m.Progress.Total
			}
			progress(p)
		}
	})
	if err != nil {
		return fmt.Errorf("building %s: %w", what, err)
	}
	return nil
}

// buildContext tars contextDir for the Engine API, leaving out what
// .dockerignore excludes but always keeping the Dockerfile and the
// .dockerignore itself (as the docker CLI does). It returns the Dockerfile
// path relative to the context, with forward slashes.
func buildContext(contextDir, dockerfile string) (io.ReadCloser, string, error) {
	if contextDir == "" {
		return nil, "", errors.New("no build context directory")
	}
	dir, err := filepath.Abs(contextDir)
	if err != nil {
		return nil, "", fmt.Errorf("build context %s: %w", contextDir, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("build context: %w", err)
	} else if !fi.IsDir() {
		return nil, "", fmt.Errorf("build context %s is not a directory", contextDir)
	}

	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	rel := dockerfile
	if filepath.IsAbs(rel) {
		if rel, err = filepath.Rel(dir, rel); err != nil {
			return nil, "", fmt.Errorf("dockerfile %s: %w", dockerfile, err)
		}
	}
	rel = filepath.Clean(rel)
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", fmt.Errorf("dockerfile %s is outside the build context %s", dockerfile, contextDir)
	}
	if fi, err := os.Stat(filepath.Join(dir, rel)); err != nil {
		return nil, "", fmt.Errorf("dockerfile: %w", err)
	} else if fi.IsDir() {
		return nil, "", fmt.Errorf("dockerfile %s is a directory", dockerfile)
	}
	rel = filepath.ToSlash(rel)

	excludes, err := readDockerignore(dir)
	if err != nil {
		return nil, "", err
	}
	for _, keep := range []string{rel, ".dockerignore"} {
		if excluded, _ := patternmatcher.MatchesOrParentMatches(keep, excludes); excluded {
			excludes = append(excludes, "!"+keep)
		}
	}

	tar, err := archive.TarWithOptions(dir, &archive.TarOptions{
		ExcludePatterns: excludes,
		ChownOpts:       &archive.ChownOpts{UID: 0, GID: 0},
	})
	if err != nil {
		return nil, "", fmt.Errorf("archiving build context %s: %w", contextDir, err)
	}
	return tar, rel, nil
}

func readDockerignore(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading .dockerignore: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return patterns, nil
}
