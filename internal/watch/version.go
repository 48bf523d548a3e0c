package watch

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// parseVersion reads a tag as a full semantic version: MAJOR.MINOR.PATCH
// with optional pre-release and build, an optional "v" prefix, and "_" for
// the build separator "+" that docker tags cannot hold ("v1.2.3_abc" is
// 1.2.3+abc). Partial versions (v1, 1.2) and other tags are not versions.
func parseVersion(tag string) (*semver.Version, bool) {
	s := strings.TrimPrefix(tag, "v")
	s = strings.Replace(s, "_", "+", 1)
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, false
	}
	return v, true
}

// Newer reports whether pushed tag a should win over b when a burst of
// accepted pushes for one service coalesces into one release: a is newer
// when both are versions and a's is higher (pre-releases below their
// release; build metadata does not count). When the tags are not both
// versions, or are the same version, neither is newer — keep the push that
// arrived last:
//
//	if !watch.Newer(held, incoming) { held = incoming }
func Newer(a, b string) bool {
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	return okA && okB && va.GreaterThan(vb)
}

// movingTag is a tag of the moving-tags scheme of seed 000: v#, v#.#,
// v#.#.# and v#.#.#_{commit} ("v" optional, but the same on both sides).
type movingTag struct {
	prefix string   // "v" or ""
	nums   []string // 1 to 3 decimal components, as written
	build  string   // the commit after "_" (only with 3 components)
}

// parseMoving reads a tag of the moving-tags scheme.
func parseMoving(tag string) (movingTag, bool) {
	var m movingTag
	s := tag
	if strings.HasPrefix(s, "v") {
		m.prefix, s = "v", s[1:]
	}
	s, m.build, _ = strings.Cut(s, "_")
	m.nums = strings.Split(s, ".")
	if len(m.nums) > 3 || (m.build != "" && len(m.nums) != 3) {
		return movingTag{}, false
	}
	for _, n := range m.nums {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return movingTag{}, false
		}
	}
	return m, true
}

// specificity ranks v1 < v1.2 < v1.2.3 < v1.2.3_abc.
func (m movingTag) specificity() int {
	if m.build != "" {
		return 4
	}
	return len(m.nums)
}

// within reports whether m is a more specific tag of the line cur names:
// v1.2.3_abc and v1.2.3 and v1.2 are within v1; v1.3.0 is not within v1.2.
func (m movingTag) within(cur movingTag) bool {
	if m.prefix != cur.prefix || m.specificity() <= cur.specificity() || cur.build != "" {
		return false
	}
	for i, n := range cur.nums {
		if m.nums[i] != n {
			return false
		}
	}
	return true
}
