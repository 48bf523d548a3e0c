// Package testimage builds Docker images of cutover's test application
// (internal/testapp) for tests, benchmarks and the demo. The images hold
// only a static binary (FROM scratch), so they build offline and never pull.
package testimage

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// Label is set to "true" on every image made here, so leftovers can be
// found with `docker images --filter label=cutover.testimage`.
const Label = "cutover.testimage"

// Options describe one image.
type Options struct {
	// Tag names the image, e.g. "cutover-testapp:v1". Required by Build.
	Tag string
	// Version is baked in as ENV TESTAPP_VERSION; empty leaves the app's
	// default ("dev") unless Env sets it.
	Version string
	// Env is extra ENV baked into the image, e.g. TESTAPP_HEALTH=fail.
	Env map[string]string
	// Healthcheck adds a HEALTHCHECK that runs `/testapp -probe` every 250ms.
	Healthcheck bool
	// Labels are added as LABEL instructions.
	Labels map[string]string
}

// healthcheck probes often so tests see "healthy" quickly. It has no
// --start-interval: API 1.41 refuses it.
const healthcheck = `HEALTHCHECK --interval=250ms --timeout=2s --retries=3 CMD ["/testapp","-probe"]`

// Dockerfile returns a Dockerfile that builds the image for opts from a
// context holding the binary as "testapp". It has no `# syntax=` line,
// which would make the engine pull a frontend image.
//
// The classic builder commits an intermediate container for every metadata
// instruction (about a second each on fuse-overlayfs), so the fixed ones
// come before COPY, where the build cache covers them.
func Dockerfile(opts Options) (string, error) {
	fixed, varying, err := instructions(opts)
	if err != nil {
		return "", err
	}
	lines := slices.Concat([]string{"FROM scratch"}, fixed, []string{"COPY testapp /testapp"}, varying)
	return strings.Join(lines, "\n") + "\n", nil
}

// instructions returns the image's metadata instructions: those that are the
// same for every image, then one ENV and one LABEL for what opts adds.
func instructions(opts Options) (fixed, varying []string, err error) {
	fixed = []string{
		`ENTRYPOINT ["/testapp"]`,
		"EXPOSE 8080",
		"LABEL " + Label + `="true"`,
	}
	if opts.Healthcheck {
		fixed = append(fixed, healthcheck)
	}

	env := maps.Clone(opts.Env)
	if opts.Version != "" {
		if env == nil {
			env = map[string]string{}
		}
		env["TESTAPP_VERSION"] = opts.Version
	}
	for _, kv := range []struct {
		instr  string
		values map[string]string
	}{{"ENV", env}, {"LABEL", opts.Labels}} {
		if len(kv.values) == 0 {
			continue
		}
		line, err := keyValues(kv.instr, kv.values)
		if err != nil {
			return nil, nil, err
		}
		varying = append(varying, line)
	}
	return fixed, varying, nil
}

// keyValues returns `instr k1="v1" k2="v2"`, sorted by key. Values are
// double-quoted; escaping $ keeps them from being interpolated.
func keyValues(instr string, kv map[string]string) (string, error) {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	var b strings.Builder
	b.WriteString(instr)
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		if k == "" || strings.ContainsAny(k, " \t\r\n=\"'\\$") {
			return "", fmt.Errorf("invalid %s key %q", instr, k)
		}
		if strings.ContainsFunc(kv[k], unicode.IsControl) {
			return "", fmt.Errorf("%s %s: value has a control character", instr, k)
		}
		fmt.Fprintf(&b, " %s=\"%s\"", k, quote.Replace(kv[k]))
	}
	return b.String(), nil
}
