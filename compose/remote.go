package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
)

// LoadRemote rebuilds a stack that a client loaded from its compose files
// and sent as Spec(nil), as the daemon receives it: the model is already
// interpolated and its paths resolved, so it loads like a release spec.
// LoadSpec alone would leave the project's compose files empty (they are
// not part of the model), so the com.docker.compose.project.config_files
// label and the stack record would lose them; LoadRemote sets them back,
// and checks that both paths are absolute, as Load makes them.
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
