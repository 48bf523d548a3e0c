package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/cli"
)

// The built-in DNS server needs both an address and a zone; a half-given
// pair is a usage error naming the missing flag, before anything starts.
func TestServe_DNSFlagsGoTogether(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dns-listen", "127.0.0.1:0"}, "--dns-zone"},
		{[]string{"--dns-zone", "example.test."}, "--dns-listen"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"--state-dir", t.TempDir(), "serve"}, tc.args...)
		code := cli.Run(context.Background(), args, &out, &errb)
		if code != cli.ExitBadInput || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want exit %d naming %s", tc.args, code, errb.String(), cli.ExitBadInput, tc.want)
		}
	}
}

// A malformed listen address is bad input (exit 2) naming the flag and the
// value, before anything starts; only an address that is well formed but
// unusable (a port already taken) is the environment's (exit 4).
func TestServe_MalformedListenAddress(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "notanaddr"}, `--listen "notanaddr"`},
		{[]string{"--hooks-listen", "127.0.0.1:99999"}, `--hooks-listen "127.0.0.1:99999"`},
		{[]string{"--dns-listen", "127.0.0.1:x", "--dns-zone", "example.test."}, `--dns-listen "127.0.0.1:x"`},
	} {
		var out, errb bytes.Buffer
		t.Setenv(cli.EnvToken, "secret-token")
		args := append([]string{"--state-dir", t.TempDir(), "serve"}, tc.args...)
		code := cli.Run(context.Background(), args, &out, &errb)
		if code != cli.ExitBadInput || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want exit %d naming %s", tc.args, code, errb.String(), cli.ExitBadInput, tc.want)
		}
	}
}
