package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
)

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [STACK]",
		Short: "Show stacks, their serving release and containers",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx, nil)
			if err != nil {
				return err
			}
			defer b.Close()
			var out []api.StackStatus
			if len(args) == 1 {
				st, err := b.Status(ctx, args[0])
				if err != nil {
					return err
				}
				out = append(out, st)
			} else if out, err = b.Stacks(ctx); err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if len(args) == 1 {
					return enc.Encode(out[0])
				}
				return enc.Encode(out)
			}
			if len(args) == 1 {
				printStackStatus(g, out[0])
				return nil
			}
			printStackList(g, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func printStackStatus(g *globals, st api.StackStatus) {
	w := g.stdout
	fmt.Fprintf(w, "stack:    %s\n", st.Stack)
	switch {
	case st.Down:
		fmt.Fprintf(w, "state:    down\n")
	case st.Release != nil:
		r := st.Release
		fmt.Fprintf(w, "release:  %d %s (%s, %s, triggered by %s, %s)\n", r.Number, r.Status, r.Status.Describe(), r.Strategy, r.Trigger, ago(r.FinishedAt))
		fmt.Fprintf(w, "images:   %s\n", imagesLine(r.Images))
	default:
		fmt.Fprintf(w, "release:  none serving\n")
	}
	if st.Color != "" {
		fmt.Fprintf(w, "color:    %s serves\n", st.Color)
	}
	if d := deployingColor(st); d != nil {
		fmt.Fprintf(w, "deploying: %s, release %d, %d/%d running\n", d.Color, d.Number, d.running, d.total)
	}
	// The standby is the old color kept after a switch; the color a
	// release deploys into is not one (the daemon leaves it out).
	if sb := st.Standby; sb != nil {
		fmt.Fprintf(w, "standby:  %s, release %s, %d/%d running", sb.Color, dash(sb.Release), sb.Running, sb.Total)
		if st.Release != nil && st.Release.Status == store.StatusAwaitingConfirm {
			fmt.Fprintf(w, " (confirm removes it, rollback switches back)")
		}
		fmt.Fprintln(w)
	}
	if l := st.Latest; l != nil && l.Strategy == "canary" && l.Status == store.StatusDeploying {
		fmt.Fprintf(w, "canary:   release %d in %s gets %d%% of new requests (cutover promote %s | cutover abort %s)\n", l.Number, dash(l.Color), l.Weight, st.Stack, st.Stack)
	}
	if l := st.Latest; l != nil {
		fmt.Fprintf(w, "latest:   %d %s", l.Number, l.Status)
		if l.Reason != "" {
			first, _, _ := strings.Cut(l.Reason, "\n")
			fmt.Fprintf(w, ": %s", first)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tSERVICE\tCOLOR\tSTATE\tHEALTH\tIMAGE\tRELEASE")
	for _, c := range st.Containers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Service, dash(c.Color), c.State, dash(c.Health), c.Image, dash(c.Release))
	}
	tw.Flush()
	printRoutes(w, st.Routes)
}

// deploying is the color a blue-green or canary release is being deployed
// into, with its containers.
type deploying struct {
	*store.Release
	running, total int
}

// deployingColor returns the release being deployed into a color (pending
// or deploying, its color chosen), or nil.
func deployingColor(st api.StackStatus) *deploying {
	l := st.Latest
	if l == nil || l.Color == "" || (l.Status != store.StatusPending && l.Status != store.StatusDeploying) {
		return nil
	}
	d := &deploying{Release: l}
	d.running, d.total = api.CountColor(st.Containers, l.Color)
	return d
}

func printStackList(g *globals, stacks []api.StackStatus) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tRELEASE\tSTATUS\tSTRATEGY\tCOLOR\tCONTAINERS\tUPDATED")
	for _, st := range stacks {
		running := 0
		for _, c := range st.Containers {
			if c.State == "running" {
				running++
			}
		}
		rel, status, strategy, updated := "-", "-", "-", "-"
		if st.Release != nil {
			rel, status, strategy, updated = fmt.Sprint(st.Release.Number), string(st.Release.Status), st.Release.Strategy, ago(st.Release.FinishedAt)
		}
		if st.Down {
			status = "down"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d running\t%s\n", st.Stack, rel, status, strategy, dash(st.Color), running, len(st.Containers), updated)
	}
	tw.Flush()
}

// printRoutes lists a stack's routes on the daemon's proxy, one line per
// target.
func printRoutes(w io.Writer, routes []lb.RouteStatus) {
	if len(routes) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tLISTEN\tHOST\tTARGET\tSTATE\tHEALTHY\tIN-FLIGHT\tSHARE")
	for _, r := range routes {
		if len(r.Targets) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\n", r.Route.Name, r.Route.Listen, dash(r.Route.Host))
		}
		for _, t := range r.Targets {
			healthy := "yes"
			if !t.Healthy {
				healthy = "no"
				if t.LastError != "" {
					healthy += " (" + firstLine(t.LastError) + ")"
				}
			}
			share := "-"
			if t.Side != "" {
				share = fmt.Sprintf("%s %d%%", t.Side, t.Weight)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Route.Name, r.Route.Listen, dash(r.Route.Host), t.Addr, t.State, healthy, t.InFlight, share)
		}
	}
	tw.Flush()
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func imagesLine(images map[string]store.ImageRef) string {
	names := make([]string, 0, len(images))
	for svc := range images {
		names = append(names, svc)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, svc := range names {
		parts = append(parts, svc+"="+images[svc].Ref)
	}
	return strings.Join(parts, " ")
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
