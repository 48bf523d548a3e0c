package compose

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// Spec is the resolved model a release records: the project as JSON, every
// service's image pinned, x-cutover blocks included, so the release can be
// deployed again exactly (`rollback --to N`) without the compose files.
func (s *Stack) Spec(images map[string]string) (json.RawMessage, error) {
	data, err := s.Project.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding spec: %w", err)
	}
	var model map[string]any
	if err := json.Unmarshal(data, &model); err != nil {
		return nil, fmt.Errorf("encoding spec: %w", err)
	}
	services, _ := model["services"].(map[string]any)
	for name, raw := range services {
		svc, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		if ref := images[name]; ref != "" {
			svc["image"] = ref
			delete(svc, "build") // the release ran this image; it is not rebuilt
		}
		// compose-go leaves service extensions out of JSON; keep ours.
		for k, v := range s.Project.Services[name].Extensions {
			svc[k] = v
		}
	}
	out, err := json.Marshal(model)
	if err != nil {
		return nil, fmt.Errorf("encoding spec: %w", err)
	}
	return out, nil
}

// LoadSpec loads a recorded release spec back into a Stack. The spec is
// already interpolated, its paths resolved and its env and label files
// read, so none of that is done again, and it holds exactly the services
// that were enabled, so every one of them is enabled again whatever
// profiles they name.
func LoadSpec(ctx context.Context, name, workingDir string, spec json.RawMessage) (*Stack, error) {
	if len(spec) == 0 {
		return nil, fmt.Errorf("release of %s has no recorded spec", name)
	}
	project, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  workingDir,
		ConfigFiles: []types.ConfigFile{{Filename: "release spec of " + name, Content: spec}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName(name, true)
		o.SkipInterpolation = true
		o.ResolvePaths = false
		o.Profiles = []string{allProfiles}
		// env_file and label_file were read when the stack was loaded:
		// their values are in environment and labels already. Reading them
		// again would fail for a file deleted since the release (rollback
		// --to N) and mix in what a changed file says now.
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
	})
	if err != nil {
		return nil, fmt.Errorf("loading release spec of %s: %w", name, err)
	}
	return newStack(project, "release spec of "+name)
}
