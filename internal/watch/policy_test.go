package watch

import (
	"strings"
	"testing"
)

type acceptCase struct {
	current, pushed string
	want            bool
}

func checkAccepts(t *testing.T, spec string, cases []acceptCase) {
	t.Helper()
	p, err := Parse(spec)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	for _, c := range cases {
		if got := p.Accepts(c.current, c.pushed); got != c.want {
			t.Errorf("%s: service on %q, push of %q: Accepts = %v, want %v", p, c.current, c.pushed, got, c.want)
		}
	}
}

func TestExact(t *testing.T) {
	cases := []acceptCase{
		{"qa", "qa", true}, // seed 001: myorg/foo:qa redeploys on a push of qa
		{"qa", "staging", false},
		{"latest", "latest", true},
		{"latest", "1.4.3", false},
		{"1.4.2", "1.4.3", false},
		{"v1", "v1.2.3", false},
		{"qa", "", false},
	}
	for _, spec := range []string{"", "exact", "  exact "} {
		checkAccepts(t, spec, cases)
	}
	var zero Policy
	if zero.Kind() != Exact || !zero.Accepts("qa", "qa") || zero.Accepts("qa", "prod") {
		t.Error("the zero Policy is not exact")
	}
}

// seed 000: CI pushes v#, v#.#, v#.#.# and v#.#.#_{commit}; production runs v1.
func TestMoving(t *testing.T) {
	checkAccepts(t, "moving", []acceptCase{
		{"v1", "v1", true},
		{"v1", "v1.2", true},
		{"v1", "v1.2.3", true},
		{"v1", "v1.2.3_7ac6010", true},
		{"v1", "v2.0.0_7ac6010", false}, // another major line
		{"v1", "v10.0.0", false},        // not v1 because it starts with "v1"
		{"v1", "1.2.3", false},          // another naming scheme
		{"v1", "v1.3.0-rc.1", false},    // not part of the scheme
		{"v1", "latest", false},
		{"v1.2", "v1.2.3_abc", true},
		{"v1.2", "v1.2.4", true},
		{"v1.2", "v1.3.0", false},
		{"v1.2", "v1", false}, // less specific: v1 may have moved to v1.3
		{"v1.2.3", "v1.2.3_abc", true},
		{"v1.2.3", "v1.2.4_abc", false},
		{"v1.2.3_abc", "v1.2.3_def", false}, // a pinned commit build stays put
		{"1", "1.4.2", true},                // the scheme without "v"
		{"qa", "qa", true},                  // a tag outside the scheme: exact
		{"qa", "qa.1", false},
	})
}

func TestLevels(t *testing.T) {
	t.Run("major", func(t *testing.T) {
		checkAccepts(t, "major", []acceptCase{
			{"1.4.2", "2.0.0", true},
			{"1.4.2", "1.5.0", true},
			{"1.4.2", "1.4.3", true},
			{"1.4.2", "1.4.1", false},
			{"1.4.2", "1.4.2_rebuild", false}, // same version: build metadata is not newer
			{"1.4.2", "2.0.0-rc.1", false},
			{"latest", "2.0.0", false}, // the service must run a version
			{"1.4.2", "latest", false},
			{"v1.4.2", "v2.0.0", true},
			{"v1.4.2", "2.0.0", true}, // "v" or not, the same versions
		})
	})
	t.Run("minor", func(t *testing.T) {
		checkAccepts(t, "minor", []acceptCase{
			{"1.4.2", "1.5.0", true},
			{"1.4.2", "1.4.3", true},
			{"1.4.2", "2.0.0", false},
			{"1.4.2", "1.3.9", false},
			{"1.4", "1.5.0", false}, // a partial version is not a version
			{"v1.2.3_7ac6010", "v1.3.0_9f8e7d6", true},
		})
	})
	t.Run("patch", func(t *testing.T) {
		checkAccepts(t, "patch", []acceptCase{
			{"1.4.2", "1.4.3", true},
			{"1.4.2", "1.4.10", true},
			{"1.4.2", "1.5.0", false},
			{"1.4.2", "1.4.3-beta.1", false},
		})
	})
	t.Run("pre-releases", func(t *testing.T) {
		checkAccepts(t, "minor", []acceptCase{
			{"1.5.0-rc.1", "1.5.0-rc.2", true}, // a service on a pre-release follows its release's pre-releases
			{"1.5.0-rc.1", "1.5.0", true},
			{"1.5.0-rc.1", "1.6.0-rc.1", false},
			{"1.5.0-rc.2", "1.5.0-rc.1", false},
			{"1.4.2", "1.5.0-rc.1", false},
		})
	})
}

func TestSemver(t *testing.T) {
	checkAccepts(t, "semver:^1.4", []acceptCase{
		{"1.4.2", "1.4.3", true},
		{"1.4.2", "1.9.0", true},
		{"1.4.2", "v1.5.0", true},
		{"1.4.2", "2.0.0", false},
		{"1.4.2", "1.3.9", false},
		{"1.4.2", "1.4.1", false},      // in range but older than what runs
		{"1.4.2", "1.5.0-rc.1", false}, // pre-releases only when the range names one
		{"1.4.2", "latest", false},
		{"1.4.2", "1.5", false}, // a moving tag is not a version
		{"latest", "1.4.0", true},
		{"1.3.0", "1.4.0", true}, // current outside the range: the range decides
	})
	checkAccepts(t, "semver:~1.4.2", []acceptCase{
		{"1.4.2", "1.4.9", true},
		{"1.4.2", "1.5.0", false},
	})
	checkAccepts(t, "semver:>=1.2 <2", []acceptCase{
		{"1.2.0", "1.9.9", true},
		{"1.2.0", "2.0.0", false},
		{"1.2.0", "1.1.0", false},
	})
	checkAccepts(t, "semver:1.2 - 1.4", []acceptCase{
		{"1.2.0", "1.4.9", true},
		{"1.2.0", "1.5.0", false},
	})
	checkAccepts(t, "semver:^1 || ^2", []acceptCase{
		{"1.9.0", "2.3.0", true},
		{"1.9.0", "3.0.0", false},
	})
	checkAccepts(t, "semver:1.x", []acceptCase{
		{"1.0.0", "1.7.2", true},
		{"1.0.0", "2.0.0", false},
	})
	checkAccepts(t, "semver:>=2.0.0-0", []acceptCase{
		{"1.9.0", "2.0.0-rc.1", true},
		{"2.0.0-rc.1", "2.0.0", true},
	})
	checkAccepts(t, "semver:^1.4", []acceptCase{
		{"v1.4.2_7ac6010", "v1.4.3_9f8e7d6", true}, // seed 000 tags are versions with a build
	})
}

func TestGlob(t *testing.T) {
	checkAccepts(t, "glob:v1.*", []acceptCase{
		{"v1.0", "v1.1", true},
		{"v1.0", "v1.2.3_abc", true},
		{"v1.0", "v2.0", false},
		{"v1.0", "v1", false},
		{"v1.4.2", "v1.4.1", false}, // both versions: never to an older one
	})
	checkAccepts(t, "glob:release-*", []acceptCase{ // seed 002's date tags
		{"release-20230103082900", "release-20230104091500", true},
		{"release-20230103082900", "20230104091500", false},
	})
	checkAccepts(t, "glob:*", []acceptCase{{"anything", "latest", true}})
}

func TestRegexp(t *testing.T) {
	checkAccepts(t, `regexp:^v1\.[0-9]+$`, []acceptCase{
		{"v1.0", "v1.12", true},
		{"v1.0", "v1.12.1", false},
		{"v1.0", "v10.1", false},
		{"v1.0", "xv1.1", false},
	})
	checkAccepts(t, `regexp:^(main|develop)-[0-9]+$`, []acceptCase{ // seed 004's develop-14
		{"develop-13", "develop-14", true},
		{"develop-13", "feature-14", false},
	})
	checkAccepts(t, `regexp:rc`, []acceptCase{ // unanchored: matches anywhere
		{"1.0.0", "1.1.0-rc.1", true},
	})
}

func TestDeployTag(t *testing.T) {
	tests := []struct {
		spec, current, pushed, want string
	}{
		{"exact", "qa", "qa", "qa"},
		{"moving", "v1", "v1.2.3_abc", "v1"}, // stays on its moving tag, pulled anew
		{"minor", "1.4.2", "1.5.0", "1.5.0"},
		{"semver:^1.4", "1.4.2", "1.4.3", "1.4.3"},
		{"glob:v1.*", "v1.0", "v1.1", "v1.1"},
		{`regexp:^v1`, "v1.0", "v1.1", "v1.1"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.DeployTag(tt.current, tt.pushed); got != tt.want {
			t.Errorf("%s: DeployTag(%q, %q) = %q, want %q", tt.spec, tt.current, tt.pushed, got, tt.want)
		}
	}
}

func TestParse_String(t *testing.T) {
	for spec, want := range map[string]string{
		"":                   "exact",
		"moving":             "moving",
		" patch ":            "patch",
		"semver: ^1.4":       "semver:^1.4",
		"semver : ~1.4.2":    "semver:~1.4.2",
		"semver:>=1.2 <2":    "semver:>=1.2 <2",
		"glob:v1.*":          "glob:v1.*",
		`regexp:^v1\.[0-9]$`: `regexp:^v1\.[0-9]$`,
	} {
		p, err := Parse(spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", spec, err)
		}
		if p.String() != want {
			t.Errorf("Parse(%q).String() = %q, want %q", spec, p.String(), want)
		}
		again, err := Parse(p.String())
		if err != nil || again.String() != want {
			t.Errorf("Parse(%q) does not read back: %v %v", p.String(), again, err)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		spec  string
		parts []string
	}{
		{"semvr:^1.4", []string{`watch.tags "semvr:^1.4"`, `unknown policy "semvr"`, "semver:<range>"}},
		{"semver", []string{`"semver"`, "needs an argument", `"semver:^1.4"`}},
		{"semver:", []string{"empty range"}},
		{"semver:latest", []string{`"latest" is not a semver range`}},
		{"semver:^1.4 ||| 2", []string{"is not a semver range"}},
		{"glob:v1.[", []string{`"v1.[" is not a glob pattern`}},
		{"glob", []string{"needs an argument", "glob:v1.*"}},
		{"regexp:v1.(", []string{`"v1.(" is not a regular expression`}},
		{"regexp:", []string{"empty expression"}},
		{"^1.4", []string{"unknown policy", `write "semver:^1.4"`}},
		{"v1.*", []string{"unknown policy", `write "glob:v1.*"`}},
		{"latest", []string{"unknown policy", "exact, already follows the tag"}},
		{"Major", []string{"unknown policy"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			for _, part := range tt.parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
		})
	}
}
