// Package cli is cutover's command line: one file per verb.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/store"
)

// Env-var names the CLI reads.
const (
	EnvStateDir = "CUTOVER_STATE_DIR"
	// EnvServer names the daemon to use: http://host:port or unix:///path.
	EnvServer = "CUTOVER_SERVER"
	// EnvToken is the daemon's bearer token (TCP).
	EnvToken = "CUTOVER_TOKEN"
)

// globals are the flags every command shares.
type globals struct {
	stateDir  string
	logLevel  string
	server    string
	tokenFile string
	stdout    io.Writer
	stderr    io.Writer
}

// Execute runs the CLI and returns the exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs the CLI with args; tests call it directly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cutover: "+err.Error())
		var locked *store.LockedError
		if errors.As(err, &locked) && locked.Stale {
			fmt.Fprintf(stderr, "cutover: clear the stale lock with: cutover unlock %s\n", locked.Lock.Stack)
		}
	}
	return ExitCode(err)
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "cutover",
		Short: "Deploy Docker Compose stacks with real deployment strategies",
		Long: `cutover deploys Docker Compose stacks as numbered releases on the local Docker
engine with a strategy (recreate, rolling, bluegreen or canary), switches traffic
through its built-in proxy, nginx or DNS, keeps a record of every release, and
has a clean way back when a release is sick: confirm, rollback, rollback --to N.
Releases start from the CLI or, through cutover serve, from registry pushes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q (see cutover --help)", args[0])}
			}
			return nil
		},
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: checkCommonInput,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&g.stateDir, "state-dir", "", "state directory (env "+EnvStateDir+"; default "+defaultStateDir()+")")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level for diagnostics on stderr: debug, info, warn, error (serve: default info)")
	root.PersistentFlags().StringVar(&g.server, "server", "", "cutover daemon to use: http://host:port or unix:///path (env "+EnvServer+"; default: the state dir's socket when a daemon answers there, else run in this process)")
	root.PersistentFlags().StringVar(&g.tokenFile, "token-file", "", "file holding the daemon's bearer token (env "+EnvToken+"): sent to a daemon over TCP; required by serve --listen")
	root.AddCommand(
		newDeployCmd(g),
		newStatusCmd(g),
		newHistoryCmd(g),
		newConfirmCmd(g),
		newPromoteCmd(g),
		newRollbackCmd(g),
		newAbortCmd(g),
		newUnlockCmd(g),
		newDownCmd(g),
		newCheckCmd(g),
		newServeCmd(g),
		newVersionCmd(g),
	)
	return root
}

// logger returns the diagnostics logger.
func (g *globals) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

// resolveStateDir applies --state-dir, CUTOVER_STATE_DIR, then the default.
func (g *globals) resolveStateDir() string {
	if g.stateDir != "" {
		return g.stateDir
	}
	if v := os.Getenv(EnvStateDir); v != "" {
		return v
	}
	return defaultStateDir()
}

// defaultStateDir is /var/lib/cutover for root, else under XDG_STATE_HOME.
func defaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/cutover"
	}
	if v := os.Getenv("XDG_STATE_HOME"); v != "" {
		return filepath.Join(v, "cutover")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "cutover")
	}
	return ".cutover"
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// maxArgs is cobra.MaximumNArgs returning a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
