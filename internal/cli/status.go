package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
)

// stackStatus is one stack as status reports it.
type stackStatus struct {
	Stack      string            `json:"stack"`
	Down       bool              `json:"down,omitempty"`
	Release    *store.Release    `json:"release,omitempty"` // the serving release
	Latest     *store.Release    `json:"latest,omitempty"`  // the newest release, when different
	Containers []containerStatus `json:"containers"`
}

type containerStatus struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	State   string `json:"state"`
	Health  string `json:"health,omitempty"`
	Image   string `json:"image"`
	Release string `json:"release,omitempty"`
}

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [STACK]",
		Short: "Show stacks, their serving release and containers",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := g.openApp(ctx, nil)
			if err != nil {
				return err
			}
			defer a.close()
			var names []string
			if len(args) == 1 {
				names = args
			} else {
				stacks, err := a.store.ListStacks(ctx)
				if err != nil {
					return envError{err}
				}
				for _, s := range stacks {
					names = append(names, s.Name)
				}
			}
			var out []stackStatus
			for _, name := range names {
				st, err := collectStatus(cmd, a, name)
				if err != nil {
					return err
				}
				out = append(out, st)
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

func collectStatus(cmd *cobra.Command, a *app, name string) (stackStatus, error) {
	ctx := cmd.Context()
	st := stackStatus{Stack: name, Containers: []containerStatus{}}
	rec, err := a.store.GetStack(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrStackNotFound) {
		return st, envError{err}
	}
	st.Down = rec.Down
	if known {
		if r, err := a.store.LatestRelease(ctx, name, store.StatusActive, store.StatusAwaitingConfirm); err == nil {
			st.Release = &r
		}
		if r, err := a.store.LatestRelease(ctx, name); err == nil && (st.Release == nil || r.Number != st.Release.Number) {
			st.Latest = &r
		}
	}
	containers, err := a.engine.ListContainers(ctx, map[string]string{compose.LabelProject: name})
	if err != nil {
		return st, envError{err}
	}
	if !known && len(containers) == 0 {
		return st, usageError{fmt.Errorf("no stack named %q", name)}
	}
	sort.Slice(containers, func(i, j int) bool { return containers[i].Name < containers[j].Name })
	for _, c := range containers {
		st.Containers = append(st.Containers, toContainerStatus(c))
	}
	return st, nil
}

func toContainerStatus(c engine.Container) containerStatus {
	return containerStatus{Name: c.Name, Service: c.Labels[compose.LabelService], State: c.State, Health: c.Health,
		Image: c.Image, Release: c.Labels[compose.LabelRelease]}
}

func printStackStatus(g *globals, st stackStatus) {
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
	fmt.Fprintln(tw, "CONTAINER\tSERVICE\tSTATE\tHEALTH\tIMAGE\tRELEASE")
	for _, c := range st.Containers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Service, c.State, dash(c.Health), c.Image, dash(c.Release))
	}
	tw.Flush()
}

func printStackList(g *globals, stacks []stackStatus) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tRELEASE\tSTATUS\tSTRATEGY\tCONTAINERS\tUPDATED")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d running\t%s\n", st.Stack, rel, status, strategy, running, len(st.Containers), updated)
	}
	tw.Flush()
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
