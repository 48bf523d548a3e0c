package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// deployOptions are deploy's flags.
type deployOptions struct {
	files      []string
	project    string
	projectDir string
	envFiles   []string
	profiles   []string
	strategy   string
	images     []string
	dryRun     bool
	output     string
	lockWait   time.Duration
	rolling    rollingFlags
}

// rollingFlags override compose's deploy.update_config for every service.
type rollingFlags struct {
	batchSize      int
	interval       time.Duration
	order          string
	pull           string
	healthTimeout  time.Duration
	allowStopFirst bool
}

func (r *rollingFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&r.batchSize, "batch-size", 0, "rolling: containers replaced at once (default: deploy.update_config.parallelism, else 1)")
	f.DurationVar(&r.interval, "interval", 0, "rolling: wait between batches (default: deploy.update_config.delay)")
	f.StringVar(&r.order, "order", "", "rolling: start-first or stop-first (default: deploy.update_config.order, else start-first)")
	f.StringVar(&r.pull, "pull", "", "pull images: always, missing or never (default: each service's pull_policy)")
	f.DurationVar(&r.healthTimeout, "health-timeout", 0, "how long a new container may take to get ready (default: x-cutover.health_timeout, else 2m)")
	f.BoolVar(&r.allowStopFirst, "allow-stop-first", false, "rolling: roll services that publish a fixed host port stop-first instead of refusing")
}

// overrides returns the flags given; a value given that means nothing
// (--batch-size 0, a --health-timeout not above 0) is a usage error rather
// than the default it would silently become.
func (r *rollingFlags) overrides(cmd *cobra.Command) (deploy.Overrides, error) {
	o := deploy.Overrides{BatchSize: r.batchSize, Order: r.order, Pull: r.pull, HealthTimeout: r.healthTimeout, AllowStopFirst: r.allowStopFirst}
	f := cmd.Flags()
	if f.Changed("batch-size") && r.batchSize < 1 {
		return o, usageError{fmt.Errorf("--batch-size %d: must be at least 1 (compose's parallelism: 0, all at once, has no flag)", r.batchSize)}
	}
	if f.Changed("health-timeout") && r.healthTimeout <= 0 {
		return o, usageError{fmt.Errorf("--health-timeout %s: must be positive", r.healthTimeout)}
	}
	if f.Changed("interval") {
		o.Interval = &r.interval
	}
	return o, nil
}

func newDeployCmd(g *globals) *cobra.Command {
	o := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy [-f FILE]... [-p NAME] [--strategy S] [--image SERVICE=REF]...",
		Short: "Deploy a compose stack as a new release",
		Long: `Deploy loads the compose stack as docker compose would (-f, -p, --env-file, .env,
COMPOSE_FILE, COMPOSE_PROFILES/--profile, interpolation), records a new release,
builds or pulls its images, and replaces what runs with the chosen strategy.
A release that does not get ready is undone; the previous release keeps serving.`,
		Example: `  cutover deploy -f examples/hello/compose.yaml
  cutover deploy -f compose.yaml --image web=myorg/web:1.4.3
  cutover deploy --dry-run -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDeploy(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "file", "f", nil, "compose file (repeatable; later files override earlier ones)")
	f.StringVarP(&o.project, "project-name", "p", "", "stack (compose project) name")
	f.StringVar(&o.projectDir, "project-directory", "", "project directory (default: the first file's directory)")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "env file for interpolation (repeatable; default .env)")
	f.StringArrayVar(&o.profiles, "profile", nil, "compose profile to enable (repeatable)")
	f.StringVar(&o.strategy, "strategy", "", "deployment strategy: recreate, rolling, bluegreen or canary (default: x-cutover.strategy, else recreate)")
	f.StringArrayVar(&o.images, "image", nil, "override a service's image, SERVICE=REF (repeatable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.DurationVar(&o.lockWait, "lock-wait", 0, "wait up to this long for another deploy of the stack to finish")
	o.rolling.register(cmd)
	return cmd
}

// runDeploy deploys; with -o json every outcome, a refusal of the flags or
// the compose file included, prints the JSON summary CI parses.
func runDeploy(cmd *cobra.Command, g *globals, o *deployOptions) error {
	stack := o.project
	res, err := deployStack(cmd, g, o, &stack)
	return finishDeploy(g, o.output, stack, res, err)
}

// deployStack loads the stack (setting *stack to its name) and deploys it.
func deployStack(cmd *cobra.Command, g *globals, o *deployOptions, stack *string) (api.Result, error) {
	ctx := cmd.Context()
	images, err := parseImageFlags(o.images)
	if err != nil {
		return api.Result{}, err
	}
	overrides, err := o.rolling.overrides(cmd)
	if err != nil {
		return api.Result{}, err
	}
	if err := checkLockWait(o.lockWait); err != nil {
		return api.Result{}, err
	}
	st, err := compose.Load(ctx, compose.LoadOptions{
		Files: o.files, ProjectName: o.project, ProjectDir: o.projectDir, EnvFiles: o.envFiles, Profiles: o.profiles,
	})
	if err != nil {
		return api.Result{}, usageError{err}
	}
	*stack = st.Name
	b, err := g.backend(ctx, newProgress(g.stderr, ""))
	if err != nil {
		return api.Result{}, err
	}
	defer b.Close()
	return b.Deploy(ctx, deploy.Request{
		Stack: st, Strategy: o.strategy, Images: images, DryRun: o.dryRun, LockWait: o.lockWait, Overrides: overrides,
	})
}

// finishDeploy reports a deploy's outcome (the backend already waited for
// auto-confirm when the release asked for it). stack names the stack when
// the deploy was refused before it had a release.
func finishDeploy(g *globals, output, stack string, res api.Result, err error) error {
	if res.Release.Stack == "" {
		res.Release.Stack = stack
	}
	if output == "json" {
		if jerr := writeDeployJSON(g, res, err); jerr != nil {
			return jerr
		}
	} else if err == nil {
		writeDeployText(g, res)
	}
	return err
}

func parseImageFlags(flags []string) (map[string]string, error) {
	images := map[string]string{}
	for _, f := range flags {
		svc, ref, ok := strings.Cut(f, "=")
		if !ok || svc == "" || ref == "" {
			return nil, usageError{fmt.Errorf("--image %q: want SERVICE=REF, e.g. web=myorg/web:1.4", f)}
		}
		if prev, dup := images[svc]; dup && prev != ref {
			return nil, usageError{fmt.Errorf("--image %s given twice (%s, %s)", svc, prev, ref)}
		}
		images[svc] = ref
	}
	return images, nil
}

// deploySummary is deploy's JSON output (-o json), for CI.
type deploySummary struct {
	Stack    string                    `json:"stack"`
	Release  int                       `json:"release,omitempty"`
	Status   string                    `json:"status"`
	Strategy string                    `json:"strategy,omitempty"`
	Images   map[string]store.ImageRef `json:"images,omitempty"`
	DryRun   bool                      `json:"dry_run,omitempty"`
	Plan     []string                  `json:"plan,omitempty"`
	Confirm  []string                  `json:"confirm,omitempty"`
	Duration string                    `json:"duration,omitempty"`
	Error    string                    `json:"error,omitempty"`
	ExitCode int                       `json:"exit_code"`
}

func writeDeployJSON(g *globals, res api.Result, err error) error {
	s := deploySummary{Stack: res.Release.Stack, Release: res.Release.Number, Status: string(res.Release.Status),
		Strategy: res.Release.Strategy, Images: res.Release.Images, ExitCode: ExitCode(err),
		DryRun: res.DryRun, Plan: res.Plan, Confirm: res.Confirm}
	if !res.Release.StartedAt.IsZero() && !res.Release.FinishedAt.IsZero() {
		s.Duration = res.Release.FinishedAt.Sub(res.Release.StartedAt).Round(time.Millisecond).String()
	}
	if err != nil {
		s.Error = err.Error()
		if s.Status == "" {
			s.Status = "error"
		}
	}
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	if jerr := enc.Encode(s); jerr != nil {
		return errors.Join(err, jerr)
	}
	return nil
}

func writeDeployText(g *globals, res api.Result) {
	if res.DryRun {
		fmt.Fprint(g.stdout, res.PlanText)
		fmt.Fprintln(g.stdout, "dry run: nothing was changed")
		return
	}
	r := res.Release
	msg := fmt.Sprintf("release %d of %s is %s", r.Number, r.Stack, r.Status)
	if r.Status == store.StatusAwaitingConfirm {
		msg += fmt.Sprintf(" (cutover confirm %s | cutover rollback %s)", r.Stack, r.Stack)
	}
	if r.Note != "" {
		msg += " (" + r.Note + ")"
	}
	if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() {
		msg += fmt.Sprintf(" after %s", r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	}
	fmt.Fprintln(g.stdout, msg)
}
