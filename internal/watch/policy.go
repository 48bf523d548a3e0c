package watch

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Kind names a watch policy.
type Kind string

// The watch policies.
const (
	Exact  Kind = "exact"
	Moving Kind = "moving"
	Major  Kind = "major"
	Minor  Kind = "minor"
	Patch  Kind = "patch"
	Semver Kind = "semver"
	Glob   Kind = "glob"
	Regexp Kind = "regexp"
)

// known is the list errors show.
const known = "exact, moving, major, minor, patch, semver:<range>, glob:<pattern>, regexp:<expr>"

// Policy says which pushed tags redeploy a service. The zero Policy is
// Exact. Build one with Parse.
type Policy struct {
	kind  Kind
	arg   string // the range, pattern or expression, as written
	rng   *semver.Constraints
	match *regexp.Regexp
}

// Parse reads a service's `x-cutover.watch.tags` value; see the package
// documentation for the policies. Errors name the spec and say what would
// be right.
func Parse(spec string) (Policy, error) {
	s := strings.TrimSpace(spec)
	switch Kind(s) {
	case "", Exact:
		return Policy{kind: Exact}, nil
	case Moving, Major, Minor, Patch:
		return Policy{kind: Kind(s)}, nil
	case Semver, Glob, Regexp:
		return Policy{}, fmt.Errorf("watch.tags %q: %s needs an argument, e.g. %s", spec, s, example(Kind(s)))
	}
	name, arg, ok := strings.Cut(s, ":")
	if !ok {
		return Policy{}, fmt.Errorf("watch.tags %q: unknown policy%s (known: %s)", spec, hint(s), known)
	}
	name, arg = strings.TrimSpace(name), strings.TrimSpace(arg)
	switch Kind(name) {
	case Semver:
		if arg == "" {
			return Policy{}, fmt.Errorf("watch.tags %q: empty range, e.g. %s", spec, example(Semver))
		}
		rng, err := semver.NewConstraint(arg)
		if err != nil {
			return Policy{}, fmt.Errorf("watch.tags %q: %q is not a semver range (e.g. ^1.4, ~1.4.2, >=1.2 <2): %w", spec, arg, err)
		}
		return Policy{kind: Semver, arg: arg, rng: rng}, nil
	case Glob:
		if arg == "" {
			return Policy{}, fmt.Errorf("watch.tags %q: empty pattern, e.g. %s", spec, example(Glob))
		}
		if _, err := path.Match(arg, ""); err != nil {
			return Policy{}, fmt.Errorf("watch.tags %q: %q is not a glob pattern (*, ?, [a-z]): %w", spec, arg, err)
		}
		return Policy{kind: Glob, arg: arg}, nil
	case Regexp:
		if arg == "" {
			return Policy{}, fmt.Errorf("watch.tags %q: empty expression, e.g. %s", spec, example(Regexp))
		}
		re, err := regexp.Compile(arg)
		if err != nil {
			return Policy{}, fmt.Errorf("watch.tags %q: %q is not a regular expression: %w", spec, arg, err)
		}
		return Policy{kind: Regexp, arg: arg, match: re}, nil
	}
	return Policy{}, fmt.Errorf("watch.tags %q: unknown policy %q (known: %s)", spec, name, known)
}

// example shows a policy with an argument.
func example(k Kind) string {
	switch k {
	case Semver:
		return `"semver:^1.4"`
	case Glob:
		return `"glob:v1.*"`
	}
	return `"regexp:^v1\.[0-9]+$"`
}

// hint suggests the policy a bare spec probably meant.
func hint(s string) string {
	switch {
	case strings.ContainsAny(s[:1], "^~<>=") || strings.Contains(s, "||"):
		return fmt.Sprintf(" (a range? write \"semver:%s\")", s)
	case strings.ContainsAny(s, "*?["):
		return fmt.Sprintf(" (a pattern? write \"glob:%s\")", s)
	}
	return " (a tag? the default policy, exact, already follows the tag in the compose file)"
}

// Kind is the policy's kind.
func (p Policy) Kind() Kind {
	if p.kind == "" {
		return Exact
	}
	return p.kind
}

// String is the policy as Parse reads it back.
func (p Policy) String() string {
	if p.arg == "" {
		return string(p.Kind())
	}
	return string(p.kind) + ":" + p.arg
}

// Accepts reports whether a push of pushed redeploys a service that runs
// current (the tag of its active release; compose's tag before the first).
// A push of current itself always does; see the package documentation for
// the rest. Policies that move a service to another tag never move it to a
// lower version.
func (p Policy) Accepts(current, pushed string) bool {
	if pushed == "" {
		return false
	}
	if pushed == current {
		return true
	}
	switch p.Kind() {
	case Moving:
		cur, okC := parseMoving(current)
		psh, okP := parseMoving(pushed)
		return okC && okP && psh.within(cur)
	case Major, Minor, Patch:
		return p.newerAtLevel(current, pushed)
	case Semver:
		v, ok := parseVersion(pushed)
		return ok && p.rng.Check(v) && !older(pushed, current)
	case Glob:
		ok, _ := path.Match(p.arg, pushed)
		return ok && !older(pushed, current)
	case Regexp:
		return p.match.MatchString(pushed) && !older(pushed, current)
	}
	return false
}

// DeployTag is the tag the service runs once it accepted pushed: its own
// tag for exact and moving policies (pulled anew: the push says the tag
// moved; the pushed digest belongs to the pushed tag), the pushed tag for
// the others.
func (p Policy) DeployTag(current, pushed string) string {
	switch p.Kind() {
	case Exact, Moving:
		return current
	}
	return pushed
}

// newerAtLevel is the major/minor/patch rule: pushed is a higher version
// than current within the level. A pre-release is accepted only when the
// service already runs a pre-release of the same MAJOR.MINOR.PATCH.
func (p Policy) newerAtLevel(current, pushed string) bool {
	cv, okC := parseVersion(current)
	pv, okP := parseVersion(pushed)
	if !okC || !okP || !pv.GreaterThan(cv) {
		return false
	}
	sameRelease := pv.Major() == cv.Major() && pv.Minor() == cv.Minor() && pv.Patch() == cv.Patch()
	if pv.Prerelease() != "" && (cv.Prerelease() == "" || !sameRelease) {
		return false
	}
	switch p.kind {
	case Minor:
		return pv.Major() == cv.Major()
	case Patch:
		return pv.Major() == cv.Major() && pv.Minor() == cv.Minor()
	}
	return true
}

// older reports whether both tags are versions and pushed's is lower.
func older(pushed, current string) bool {
	return Newer(current, pushed)
}
