package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
)

// allProfiles is compose-go's profile that enables every service.
const allProfiles = "*"

// LoadRemote rebuilds a stack from a spec made by Stack.Spec: one a client
// loaded from its compose files and sent as Spec(nil), as the daemon
// receives it, or one a release recorded (rollback --to, redeploys,
// routers). The model is already interpolated and its paths resolved, so
// neither is done again.
//
// The spec holds exactly the services that were enabled when the stack was
// loaded (--profile, COMPOSE_PROFILES), but they still say `profiles:` and
// the active profiles are not part of the model; so LoadSpec enables every
// profile, else a service of a profile would be dropped.
//
// The project's compose files are not part of the model either, so the
// com.docker.compose.project.config_files label and the stack record would
// lose them; LoadRemote sets them back, and checks that both paths are
// absolute, as Load makes them.
func LoadRemote(ctx context.Context, name, workingDir string, configFiles []string, spec json.RawMessage) (*Stack, error) {
	if !filepath.IsAbs(workingDir) {
		return nil, fmt.Errorf("stack %s: working dir %q is not an absolute path", name, workingDir)
	}
	for _, f := range configFiles {
		if !filepath.IsAbs(f) {
			return nil, fmt.Errorf("stack %s: config file %q is not an absolute path", name, f)
		}
	}
	st, err := LoadSpec(ctx, name, workingDir, spec)
	if err != nil {
		return nil, err
	}
	st.Project.ComposeFiles = slices.Clone(configFiles)
	return st, nil
}
