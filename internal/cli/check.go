package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/registry"
)

// ErrDrifted is returned by check (exit code 1) when a service runs an
// image its tag no longer names in the registry and --apply was not given.
var ErrDrifted = errors.New("drifted")

// checkOptions are check's flags.
type checkOptions struct {
	apply    bool
	lockWait time.Duration
	output   string
}

func newCheckCmd(g *globals) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [STACK] [--apply] [--lock-wait DUR] [-o json]",
		Short: "Compare running image digests with the registry's digest of their tag; --apply redeploys what drifted",
		Long: `Check compares, for every service of the stack (or of every stack), the digest of
the image its containers run with the digest the registry serves for the image's
tag now: one HEAD request per tag, nothing is pulled, credentials come from the
docker config (docker login). A service is current, drifted (the tag was pushed
again since), or unknown (an image built here and never pushed, a reference
pinned by digest, a registry that cannot be reached), with the reason.

It exits 0 when nothing drifted and 1 when something did. With --apply, each
stack with a drifted service gets a new release (trigger "check") from its
serving release: the drifted services run their tag pinned to the registry's
digest, every other service keeps what it runs. It then exits 0 when those
releases succeeded.`,
		Example: `  cutover check
  cutover check shop -o json
  cutover check shop --apply --lock-wait 5m`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLockWait(o.lockWait); err != nil {
				return err
			}
			stack := ""
			if len(args) == 1 {
				stack = args[0]
			}
			ctx := cmd.Context()
			b, err := g.backend(ctx, newProgress(g.stderr, ""))
			if err != nil {
				return err
			}
			defer b.Close()
			rep, err := b.Check(ctx, stack, daemon.CheckOptions{Apply: o.apply, LockWait: o.lockWait})
			if err != nil {
				return err
			}
			if o.output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printCheck(g, rep)
			}
			return checkOutcome(rep, o.apply)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.apply, "apply", false, "redeploy each stack with a drifted service (trigger \"check\")")
	f.DurationVar(&o.lockWait, "lock-wait", 0, "with --apply: wait this long for a deploy of the stack in progress")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// checkOutcome is the command's error: a failed redeploy (with its kind's
// exit code), else drift that was not applied.
func checkOutcome(rep api.CheckReport, applied bool) error {
	var errs []error
	for _, sc := range rep.Stacks {
		if sc.Error != "" {
			errs = append(errs, fromAPI(api.Error{Message: sc.Stack + ": " + sc.Error, Kind: sc.Kind}))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if rep.Drifted > 0 && !applied {
		noun := "services"
		if rep.Drifted == 1 {
			noun = "service"
		}
		return fmt.Errorf("%d %s %w (cutover check --apply redeploys them)", rep.Drifted, noun, ErrDrifted)
	}
	return nil
}

func printCheck(g *globals, rep api.CheckReport) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tSERVICE\tIMAGE\tRUNNING\tREGISTRY\tSTATUS")
	var notes []string
	for _, sc := range rep.Stacks {
		if sc.Skipped != "" {
			notes = append(notes, fmt.Sprintf("%s: not checked: %s", sc.Stack, sc.Skipped))
			continue
		}
		for _, s := range sc.Services {
			status := s.Status
			if s.Status == api.CheckUnknown && s.Reason != "" {
				status += ": " + s.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sc.Stack, s.Service, s.Image, dash(registry.ShortDigest(s.Running)), dash(registry.ShortDigest(s.Registry)), status)
		}
		if r := sc.Redeploy; r != nil {
			notes = append(notes, fmt.Sprintf("%s: release %d is %s (redeployed %s)", sc.Stack, r.Number, r.Status, strings.Join(driftedNames(sc), ", ")))
		}
		if sc.Error != "" && sc.Redeploy == nil {
			notes = append(notes, fmt.Sprintf("%s: %s", sc.Stack, sc.Error))
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(g.stdout, n)
	}
}

// driftedNames lists a stack's drifted services.
func driftedNames(sc api.StackCheck) []string {
	var out []string
	for _, s := range sc.Services {
		if s.Status == api.CheckDrifted {
			out = append(out, s.Service)
		}
	}
	return out
}
