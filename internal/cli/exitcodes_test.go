package cli_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/cli"
)

// These need no engine: they check what a user sees when input is wrong or
// the engine is missing.
func TestRun_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	writeFile(t, file, "services:\n  web:\n    image: example/web:1\n")
	unknownKey := filepath.Join(dir, "typo.yaml")
	writeFile(t, unknownKey, "services:\n  web:\n    image: example/web:1\n    x-cutover:\n      rout: {port: 80}\n")

	cases := []struct {
		desc    string
		args    []string
		noDock  bool
		code    int
		mention string
	}{
		{desc: "unknown flag", args: []string{"deploy", "--nope"}, code: cli.ExitBadInput, mention: "--nope"},
		{desc: "unknown command", args: []string{"deplyo"}, code: cli.ExitBadInput, mention: "deplyo"},
		{desc: "bad output format", args: []string{"deploy", "-f", file, "-o", "yaml"}, code: cli.ExitBadInput, mention: `"yaml"`},
		{desc: "malformed --image", args: []string{"deploy", "-f", file, "--image", "web"}, code: cli.ExitBadInput, mention: "SERVICE=REF"},
		{desc: "unknown x-cutover key names file and field", args: []string{"deploy", "-f", unknownKey}, code: cli.ExitBadInput, mention: "typo.yaml: services.web.x-cutover.rout: unknown field"},
		{desc: "history of an unknown stack", args: []string{"history", "nosuchstack"}, code: cli.ExitBadInput, mention: "nosuchstack"},
		{desc: "engine unreachable", args: []string{"deploy", "-f", file}, noDock: true, code: cli.ExitEnv, mention: "cannot reach the Docker engine"},
		{desc: "engine unreachable for status", args: []string{"status"}, noDock: true, code: cli.ExitEnv, mention: "cannot reach the Docker engine"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.noDock {
				t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "no-such-docker.sock"))
			}
			var out, errb bytes.Buffer
			code := cli.Run(context.Background(), append([]string{"--state-dir", filepath.Join(dir, "state")}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.mention) {
				t.Errorf("stderr %q does not mention %q", errb.String(), tc.mention)
			}
		})
	}
}
