package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/store"
)

func TestCheckOutcome_ExitCodes(t *testing.T) {
	drifted := api.CheckReport{Drifted: 1, Stacks: []api.StackCheck{{Stack: "shop", Services: []api.ServiceCheck{{Service: "web", Status: api.CheckDrifted}}}}}
	for _, tc := range []struct {
		desc  string
		rep   api.CheckReport
		apply bool
		code  int
	}{
		{"nothing drifted", api.CheckReport{Stacks: []api.StackCheck{{Stack: "shop"}}}, false, ExitOK},
		{"drifted", drifted, false, ExitFailed},
		{"drifted and applied", drifted, true, ExitOK},
		{"the redeploy found the stack locked", api.CheckReport{Drifted: 1, Stacks: []api.StackCheck{{Stack: "shop", Error: "stack \"shop\" is being deployed", Kind: api.KindConflict}}}, true, ExitConflict},
		{"the redeploy failed", api.CheckReport{Drifted: 1, Stacks: []api.StackCheck{{Stack: "shop", Error: "release 3 of shop failed", Kind: api.KindFailed}}}, true, ExitFailed},
	} {
		err := checkOutcome(tc.rep, tc.apply)
		if got := ExitCode(err); got != tc.code {
			t.Errorf("%s: exit %d (%v), want %d", tc.desc, got, err, tc.code)
		}
	}
	if err := checkOutcome(drifted, false); !errors.Is(err, ErrDrifted) || !strings.Contains(err.Error(), "1 service drifted") {
		t.Errorf("drift error = %v", err)
	}
	if err := checkOutcome(api.CheckReport{Stacks: []api.StackCheck{{Stack: "shop", Error: "locked", Kind: api.KindConflict}}}, true); !errors.Is(err, store.ErrStackLocked) {
		t.Errorf("a conflict is not store.ErrStackLocked: %v", err)
	}
}

func TestPrintCheck(t *testing.T) {
	var out bytes.Buffer
	printCheck(&globals{stdout: &out}, api.CheckReport{Stacks: []api.StackCheck{
		{Stack: "shop", Release: 2, Services: []api.ServiceCheck{
			{Service: "web", Image: "127.0.0.1:5000/web:v1", Running: "sha256:" + strings.Repeat("a", 64), Registry: "sha256:" + strings.Repeat("b", 64), Status: api.CheckDrifted},
			{Service: "db", Image: "postgres:16", Status: api.CheckUnknown, Reason: "never pulled"},
		}, Redeploy: &store.Release{Number: 3, Status: store.StatusActive}},
		{Stack: "old", Skipped: "stack old is down"},
	}})
	for _, want := range []string{"sha256:aaaaaaaaaaaa", "sha256:bbbbbbbbbbbb", "drifted", "unknown: never pulled", "shop: release 3 is active (redeployed web)", "old: not checked: stack old is down"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestServe_HooksFlags(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--state-dir", t.TempDir(), "serve", "--hooks-secrets", "/nonexistent"}, &out, &errb)
	if code != ExitBadInput || !strings.Contains(errb.String(), "--hooks-listen") {
		t.Errorf("--hooks-secrets without --hooks-listen: exit %d, %q", code, errb.String())
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "hooks.env")
	content := "# cutover hooks\nCUTOVER_HOOK_GITHUB_SECRET=\"from file\"\nexport SHOP_SECRET=s3cr3t\n\nCUTOVER_HOOK_GENERIC_TOKEN = tok\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvHookGenericToken, "from env")
	o := &serveOptions{hooksListen: "127.0.0.1:0", hooksSecrets: file, hooksMaxBody: 1 << 20}
	cfg, err := o.hooksConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Receiver.GitHubSecret != "from file" || cfg.Receiver.GenericToken != "from env" || cfg.Getenv("SHOP_SECRET") != "s3cr3t" {
		t.Errorf("receiver %+v, SHOP_SECRET %q", cfg.Receiver, cfg.Getenv("SHOP_SECRET"))
	}
	if err := os.WriteFile(file, []byte("not a pair with s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := o.hooksConfig(); err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad secrets file: %v (want the line number, not its text)", err)
	}
}
