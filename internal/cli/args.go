package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// checkCommonInput refuses, for every command, what cobra lets through: an
// -o other than text or json (which would print text and still act), and
// an empty STACK argument (an unset "$STACK" in a script), which would
// otherwise list every stack's containers or reach the daemon as a path
// with an empty segment.
func checkCommonInput(cmd *cobra.Command, args []string) error {
	if f := cmd.Flags().Lookup("output"); f != nil {
		if v := f.Value.String(); v != "text" && v != "json" {
			return usageError{fmt.Errorf("-o %q: want text or json", v)}
		}
	}
	if strings.Contains(cmd.Use, "STACK") {
		for _, a := range args {
			if strings.TrimSpace(a) == "" {
				return usageError{fmt.Errorf("cutover %s: the stack name is empty", cmd.Name())}
			}
		}
	}
	return nil
}

// checkLockWait refuses a negative --lock-wait.
func checkLockWait(d time.Duration) error {
	if d < 0 {
		return usageError{fmt.Errorf("--lock-wait %s: must not be negative", d)}
	}
	return nil
}
