package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newDownCmd(g *globals) *cobra.Command {
	var volumes bool
	var output string
	cmd := &cobra.Command{
		Use:   "down STACK [--volumes]",
		Short: "Stop and remove a stack's containers and networks",
		Long: `Down removes every container and network of the stack (found by its compose
project label, so no compose file is needed). Named volumes stay unless --volumes.
The release history stays; the stack is marked down until its next deploy.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, newProgress(g.stderr, ""))
			if err != nil {
				return err
			}
			defer b.Close()
			res, err := b.Down(ctx, args[0], volumes)
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(g.stdout).Encode(res)
			}
			fmt.Fprintf(g.stdout, "stack %s is down: removed %d containers, %d networks, %d volumes\n",
				args[0], len(res.Containers), len(res.Networks), len(res.Volumes))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "also remove the stack's named volumes")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
