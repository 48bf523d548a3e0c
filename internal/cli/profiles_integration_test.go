package cli_test

import (
	"fmt"
	"slices"
	"testing"
)

// profilesYAML is web plus a debug service of profile dbg.
func profilesYAML(web, debug string) string {
	return fmt.Sprintf(`services:
  web: {image: %s, stop_grace_period: 1s}
  debug: {image: %s, stop_grace_period: 1s, profiles: [dbg]}
x-cutover: {min_ready: 300ms, health_timeout: 30s}
`, web, debug)
}

// A release made with --profile dbg records debug; rollback --to that
// release deploys its recorded spec again, debug included, though the
// spec still says profiles: [dbg] and no --profile is given.
func TestRollbackTo_KeepsServicesOfProfiles(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, true)
	v2 := e.image("v2", nil, true)
	file := e.writeCompose(profilesYAML(v1, v1))

	e.mustRun("deploy", "-f", file, "-p", e.stack, "--profile", "dbg")
	want := []string{e.stack + "-debug-1", e.stack + "-web-1"}
	if got := names(e.running()); !slices.Equal(got, want) {
		t.Fatalf("running after deploy --profile dbg = %v, want %v", got, want)
	}
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--profile", "dbg", "--image", "web="+v2, "--image", "debug="+v2)
	if got := e.versions("debug"); !slices.Equal(got, []string{"v2"}) {
		t.Fatalf("debug answers %v after release 2, want [v2]", got)
	}

	r := e.run("rollback", e.stack, "--to", "1")
	if r.code != 0 {
		t.Fatalf("rollback --to 1: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if got := names(e.running()); !slices.Equal(got, want) {
		t.Errorf("running after rollback --to 1 = %v, want %v", got, want)
	}
	for _, svc := range []string{"web", "debug"} {
		if got := e.versions(svc); !slices.Equal(got, []string{"v1"}) {
			t.Errorf("%s answers %v after rollback --to 1, want [v1]", svc, got)
		}
	}
}
