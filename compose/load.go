// Package compose loads compose stacks the way docker compose does and turns
// them into what cutover runs: container, network and volume specs carrying
// docker compose's labels plus cutover's own.
package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

// LoadOptions are the compose-style inputs of a stack, as on the CLI.
type LoadOptions struct {
	// Files are the -f files in order; later files override earlier ones.
	// Empty means COMPOSE_FILE, else compose.yaml/docker-compose.yml in ProjectDir.
	Files []string
	// ProjectName is -p; empty means COMPOSE_PROJECT_NAME, the file's name:,
	// else the project directory's base name.
	ProjectName string
	// ProjectDir is --project-directory; empty means the first file's directory.
	ProjectDir string
	// EnvFiles are --env-file; empty means ProjectDir/.env when present.
	EnvFiles []string
	// Profiles are --profile; empty means COMPOSE_PROFILES.
	Profiles []string
	// Env, when non-nil, replaces the process environment (tests).
	Env []string
}

// Stack is a loaded compose project with cutover's extension decoded.
type Stack struct {
	Name    string
	Project *types.Project
	// Ext is the stack-level x-cutover block (zero when absent).
	Ext StackExtension
	// Services holds each service's x-cutover block (zero when absent).
	Services map[string]ServiceExtension
}

// Load reads a stack with docker compose's precedence rules: -f files and
// overrides, .env and --env-file, COMPOSE_FILE, COMPOSE_PROFILES/--profile,
// interpolation, and the typed x-cutover extension. Errors name the file
// and the field.
func Load(ctx context.Context, o LoadOptions) (*Stack, error) {
	envOpt := cli.WithOsEnv
	if o.Env != nil {
		envOpt = cli.WithEnv(o.Env)
	}
	opts, err := cli.NewProjectOptions(o.Files,
		cli.WithWorkingDirectory(o.ProjectDir),
		envOpt,
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithName(o.ProjectName),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, fmt.Errorf("loading stack: %w", err)
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading stack: %w", describeFiles(opts.ConfigPaths, err))
	}
	if err := checkUnknownKeys(project.ComposeFiles); err != nil {
		return nil, err
	}
	return newStack(project, filesLabel(project.ComposeFiles))
}

// newStack decodes and checks cutover's extension on a loaded project;
// where names the source in errors.
func newStack(project *types.Project, where string) (*Stack, error) {
	var err error
	st := &Stack{Name: project.Name, Project: project, Services: map[string]ServiceExtension{}}

	if st.Ext, err = decodeStackExtension(project.Extensions[ExtensionKey], ExtensionKey); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := st.Ext.Validate(ExtensionKey); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	for name, svc := range project.Services {
		ext, err := decodeServiceExtension(svc.Extensions[ExtensionKey], "services."+name+"."+ExtensionKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := ext.Validate("services." + name + "." + ExtensionKey); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if svc.Deploy != nil {
			if err := validateUpdateConfig("services."+name+".deploy.update_config", svc.Deploy.UpdateConfig); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if err := validateUpdateConfig("services."+name+".deploy.rollback_config", svc.Deploy.RollbackConfig); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		if svc.Image == "" && svc.Build == nil {
			return nil, fmt.Errorf("%s: services.%s: has neither image nor build", where, name)
		}
		st.Services[name] = ext
	}
	return st, nil
}

// ServiceNames returns the stack's services sorted by name.
func (s *Stack) ServiceNames() []string {
	names := make([]string, 0, len(s.Project.Services))
	for name := range s.Project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ConfigFiles returns the absolute paths of the files the stack came from.
func (s *Stack) ConfigFiles() []string { return s.Project.ComposeFiles }

// WorkingDir is the project directory.
func (s *Stack) WorkingDir() string { return s.Project.WorkingDir }

func filesLabel(files []string) string {
	if len(files) == 0 {
		return "compose file"
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = relPath(f)
	}
	return strings.Join(names, ", ")
}

// relPath shortens an absolute path for messages when it is under the
// current directory.
func relPath(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if wd, err := filepath.Abs("."); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// describeFiles makes compose-go's errors name the file when they do not:
// the file that is not valid YAML when there is one (compose-go's YAML
// errors name no file), else all of them. files are the paths compose-go
// read, whether from -f, COMPOSE_FILE or default discovery.
func describeFiles(files []string, err error) error {
	msg := err.Error()
	for _, f := range files {
		if strings.Contains(msg, f) || strings.Contains(msg, filepath.Base(f)) {
			return err
		}
	}
	if len(files) == 0 {
		return err
	}
	if bad := invalidYAML(files); bad != "" {
		files = []string{bad}
	}
	return fmt.Errorf("%s: %w", filesLabel(files), err)
}

// invalidYAML returns the first of files that does not parse as YAML, or "".
func invalidYAML(files []string) string {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var doc any
		if yaml.Unmarshal(data, &doc) != nil {
			return f
		}
	}
	return ""
}
