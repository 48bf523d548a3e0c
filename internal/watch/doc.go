// Package watch decides whether a pushed tag redeploys a service, from the
// service's `x-cutover.watch.tags` policy and the tag it runs now.
//
// Policies (Parse):
//
//	""  or "exact"   only the service's own tag (a push of myorg/foo:qa redeploys
//	                 a service on myorg/foo:qa)
//	"moving"         the moving tags of a release scheme: a service on v1 or
//	                 v1.2 also redeploys when v1.2.3 or v1.2.3_<commit> is
//	                 pushed (it keeps running its own tag, resolved anew)
//	"major"          any newer version        (1.4.2 → 2.0.0)
//	"minor"          a newer version, same major        (1.4.2 → 1.5.0)
//	"patch"          a newer version, same major.minor  (1.4.2 → 1.4.3)
//	"semver:<range>" a version in the range, never older than the current one
//	                 ("semver:^1.4", "semver:~1.4.2", "semver:>=1.2 <2")
//	"glob:<pattern>" a tag matching the pattern ("glob:v1.*")
//	"regexp:<expr>"  a tag matching the Go regular expression
//	                 ("regexp:^v1\.[0-9]+$")
//
// Whatever the policy, a push of the tag the service runs now redeploys it:
// the image behind its own tag changed. Versions are semantic versions with
// an optional "v" prefix; since docker tags cannot hold "+", a "_" stands
// for it (v1.2.3_abc1234 is version 1.2.3 with build abc1234).
//
// When a burst of pushes is accepted for one service, Newer tells which one
// wins: the highest version, else the last to arrive.
package watch
