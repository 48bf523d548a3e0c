package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

func newRollbackCmd(g *globals) *cobra.Command {
	var (
		to       int
		output   string
		strategy string
		lockWait time.Duration
		rolling  rollingFlags
	)
	cmd := &cobra.Command{
		Use:   "rollback STACK [--to N]",
		Short: "Go back: instantly from a release awaiting confirmation, or to release N as a new release",
		Long: `Without --to, rollback undoes the release awaiting confirmation: the previous
release's stopped containers start again (batched and health-gated, per
deploy.rollback_config) and the release's containers are removed.

With --to N, release N's recorded spec is deployed again as a new release,
images pinned to exactly what it ran (tag if unchanged, else digest or image ID),
with the stack's strategy: that of its last successful release (--strategy picks
another).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if cmd.Flags().Changed("to") && to < 1 {
				return usageError{fmt.Errorf("--to %d: want a release number (1 or more; cutover history %s lists them)", to, args[0])}
			}
			if to == 0 && cmd.Flags().Changed("strategy") {
				return usageError{fmt.Errorf("--strategy applies only with --to")}
			}
			if err := checkLockWait(lockWait); err != nil {
				return err
			}
			overrides, err := rolling.overrides(cmd)
			if err != nil {
				return err
			}
			b, err := g.backend(ctx, newProgress(g.stderr, ""))
			if err != nil {
				return err
			}
			defer b.Close()
			if to > 0 {
				res, err := b.RollbackTo(ctx, args[0], to, deploy.Request{Strategy: strategy, LockWait: lockWait, Overrides: overrides})
				return finishDeploy(g, output, args[0], res, err)
			}
			rel, err := b.Rollback(ctx, args[0], overrides)
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(g.stdout).Encode(rel)
			}
			switch {
			case rel.Status == store.StatusAborted:
				// A rollback during a canary's steps aborts the release.
				fmt.Fprintf(g.stdout, "release %d of %s is aborted: all traffic is back on the release before it\n", rel.Number, rel.Stack)
			case rel.Note == "":
				fmt.Fprintf(g.stdout, "release %d of %s is %s\n", rel.Number, rel.Stack, rel.Status)
			default:
				fmt.Fprintf(g.stdout, "release %d of %s is rolled back (%s)\n", rel.Number, rel.Stack, rel.Note)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&to, "to", 0, "redeploy release N's spec as a new release")
	f.StringVar(&strategy, "strategy", "", "with --to: strategy (default: the stack's)")
	f.DurationVar(&lockWait, "lock-wait", 0, "wait up to this long for another deploy of the stack to finish")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	rolling.register(cmd)
	return cmd
}
