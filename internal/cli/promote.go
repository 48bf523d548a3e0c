package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newPromoteCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "promote STACK",
		Short: "End the pauses of the canary release in progress (its remaining steps run at once)",
		Long: `Promote tells the canary release of the stack that is in its steps to stop
holding: the current pause ends and the remaining steps run without pausing,
up to the full switch. The release then awaits confirmation as usual. To send
all traffic back instead, use cutover abort (or rollback).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, newProgress(g.stderr, ""))
			if err != nil {
				return err
			}
			defer b.Close()
			rel, err := b.Promote(ctx, args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(g.stdout).Encode(rel)
			}
			fmt.Fprintf(g.stdout, "release %d of %s is promoted: its canary steps go on without pausing\n", rel.Number, rel.Stack)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
