package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newUnlockCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "unlock STACK",
		Short: "Clear a stack's lock left by a deploy whose process is gone",
		Long: `A deploy holds its stack's lock while it runs. If its process died (killed,
machine rebooted), the lock stays and later deploys report it as stale. Unlock
clears it and records the unfinished release as failed. A live deploy's lock is
kept unless --force.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, nil)
			if err != nil {
				return err
			}
			defer b.Close()
			lock, err := b.Unlock(ctx, args[0], force)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "stack %s unlocked (was held by release %d, pid %d on %s)\n", args[0], lock.Release, lock.PID, lock.Host)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "clear the lock even if its process is alive")
	return cmd
}
