package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newAbortCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "abort STACK",
		Short: "Stop the deploy in progress and roll back what it changed",
		Long: `Abort stops the deploy of the stack: a daemon cancels the deploy it runs; without
a daemon, abort signals the process deploying the stack (it must run on this
host). The deploy undoes every step it took, so the previous release serves,
and records the release aborted. Abort waits until it has.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, newProgress(g.stderr, ""))
			if err != nil {
				return err
			}
			defer b.Close()
			rel, err := b.Abort(ctx, args[0], wait)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "release %d of %s is %s\n", rel.Number, rel.Stack, rel.Status)
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Minute, "how long to wait for the deploy to undo its steps")
	return cmd
}
