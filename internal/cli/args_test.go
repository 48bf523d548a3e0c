package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/cli"
)

// Flag and argument values that would silently mean something else are
// refused as bad input (exit 2) naming the value, before anything runs:
// the state dir given here does not even exist.
func TestCLI_RefusesMeaninglessValues(t *testing.T) {
	state := t.TempDir() + "/never-created"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback", "shop", "--to", "0"}, "--to 0"},
		{[]string{"rollback", "shop", "--to", "-1"}, "--to -1"},
		{[]string{"status", "shop", "-o", "xml"}, `-o "xml"`},
		{[]string{"confirm", "shop", "-o", "yaml"}, `-o "yaml"`},
		{[]string{"history", "shop", "-o", "yaml"}, `-o "yaml"`},
		{[]string{"status", ""}, "stack name is empty"},
		{[]string{"confirm", " "}, "stack name is empty"},
		{[]string{"down", ""}, "stack name is empty"},
		{[]string{"rollback", "", "--to", "1"}, "stack name is empty"},
		{[]string{"deploy", "--batch-size", "0"}, "--batch-size 0"},
		{[]string{"deploy", "--health-timeout", "-5s"}, "--health-timeout -5s"},
		{[]string{"deploy", "--lock-wait", "-3s"}, "--lock-wait -3s"},
		{[]string{"rollback", "shop", "--to", "1", "--lock-wait", "-1s"}, "--lock-wait -1s"},
	} {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), append([]string{"--state-dir", state}, tc.args...), &out, &errb)
		if code != cli.ExitBadInput || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("cutover %q: exit %d, stderr %q; want exit %d naming %s", tc.args, code, errb.String(), cli.ExitBadInput, tc.want)
		}
	}
}
