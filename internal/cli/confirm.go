package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newConfirmCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "confirm STACK",
		Short: "Make the release awaiting confirmation final (removes the old containers)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, newProgress(g.stderr, ""))
			if err != nil {
				return err
			}
			defer b.Close()
			rel, err := b.Confirm(ctx, args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(g.stdout).Encode(rel)
			}
			fmt.Fprintf(g.stdout, "release %d of %s is confirmed and active\n", rel.Number, rel.Stack)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
