package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/store"
)

func newHistoryCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history STACK",
		Short: "List a stack's releases, newest first, with why any failed",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, nil)
			if err != nil {
				return err
			}
			defer b.Close()
			releases, err := b.History(ctx, args[0]) // newest first, without specs
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(releases)
			}
			printHistory(g, releases)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func printHistory(g *globals, releases []store.Release) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tSTATUS\tSTRATEGY\tTRIGGER\tIMAGES\tSTARTED\tDURATION\tNOTE")
	for _, r := range releases {
		dur := "-"
		if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(100 * time.Millisecond).String()
		}
		started := r.StartedAt
		if started.IsZero() {
			started = r.CreatedAt
		}
		note := r.Note
		if r.Reason != "" {
			note, _, _ = strings.Cut(r.Reason, "\n")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Status, r.Strategy, r.Trigger, imagesLine(r.Images), ago(started), dur, dash(note))
	}
	tw.Flush()
}
