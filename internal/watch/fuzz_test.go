package watch

import (
	"testing"
)

// FuzzPolicy: Parse never panics, a parsed policy reads back from its
// String, Accepts never panics, and a push of the running tag is accepted.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{"", "exact", "moving", "major", "minor", "patch", "semver:^1.4", "semver:>=1.2 <2",
		"glob:v1.*", `regexp:^v1\.[0-9]+$`, "semver:", "glob:[", "regexp:(", "^1.4"} {
		f.Add(s, "1.4.2", "1.5.0")
		f.Add(s, "v1", "v1.2.3_abc")
	}
	f.Fuzz(func(t *testing.T, spec, current, pushed string) {
		p, err := Parse(spec)
		if err != nil {
			return
		}
		again, err := Parse(p.String())
		if err != nil || again.String() != p.String() {
			t.Fatalf("Parse(%q).String() = %q does not read back: %v", spec, p.String(), err)
		}
		_ = p.Accepts(current, pushed)
		_ = p.DeployTag(current, pushed)
		_ = Newer(current, pushed)
		if current != "" && !p.Accepts(current, current) {
			t.Fatalf("%s rejects a push of the running tag %q", p, current)
		}
	})
}
