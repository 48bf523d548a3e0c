package strategies

import (
	"fmt"
	"strings"
)

// Suffixes of the temporary names a replacement uses: the new container is
// created as <name>_new while the old one serves, and the old one is renamed
// <name>_old when it stops, so the serving container always has compose's
// name. Anything still carrying a suffix when a deploy starts is a leftover
// of an interrupted run.
const (
	SuffixNew = "_new"
	SuffixOld = "_old"
)

// IsTemporaryName reports whether a container name carries a replacement suffix.
func IsTemporaryName(name string) bool {
	return strings.HasSuffix(name, SuffixNew) || strings.HasSuffix(name, SuffixOld)
}

// InfraSteps are the steps every plan starts with: networks and volumes the
// release needs, created when missing; external ones checked.
func InfraSteps(current Snapshot, want Desired) []Step {
	var steps []Step
	for i := range want.ExternalNetworks {
		steps = append(steps, Step{Action: ActionCheckNetwork, Name: want.ExternalNetworks[i], Cause: "external network"})
	}
	for i := range want.Networks {
		n := want.Networks[i]
		if current.Networks[n.Name] {
			continue
		}
		steps = append(steps, Step{Action: ActionEnsureNetwork, Network: &n, Cause: "stack network"})
	}
	for i := range want.ExternalVolumes {
		steps = append(steps, Step{Action: ActionCheckVolume, Name: want.ExternalVolumes[i], Cause: "external volume"})
	}
	for i := range want.Volumes {
		v := want.Volumes[i]
		if current.Volumes[v.Name] {
			continue
		}
		steps = append(steps, Step{Action: ActionEnsureVolume, Volume: &v, Cause: "named volume"})
	}
	return steps
}

// LeftoverSteps removes containers an interrupted deploy left under a
// temporary name.
func LeftoverSteps(current Snapshot) []Step {
	var steps []Step
	for _, svc := range current.Services() {
		for _, c := range current.Containers[svc] {
			if IsTemporaryName(c.Name) {
				steps = append(steps, Step{Action: ActionRemove, Service: svc, Container: c.Name, Cause: leftoverCause(c)})
			}
		}
	}
	return steps
}

// leftoverCause says what a temp-named container is. Its release label is
// the release that created it: for a _new container that is the interrupted
// release, for an _old one the release it was replacing, which had finished.
func leftoverCause(c Observed) string {
	switch {
	case c.Release == 0:
		return "leftover of an interrupted deploy"
	case strings.HasSuffix(c.Name, SuffixNew):
		return fmt.Sprintf("leftover of interrupted release %d", c.Release)
	default:
		return fmt.Sprintf("leftover of an interrupted deploy: replaced container of release %d", c.Release)
	}
}

// Canonical splits a service's observed containers into those under their
// compose name (by replica number) and the rest.
func Canonical(svc Service, observed []Observed) (byNumber map[int]Observed, others []Observed) {
	byNumber = map[int]Observed{}
	for _, c := range observed {
		if IsTemporaryName(c.Name) {
			continue
		}
		if c.Number > 0 && c.Name == svc.ContainerName(c.Number) {
			byNumber[c.Number] = c
			continue
		}
		others = append(others, c)
	}
	return byNumber, others
}

// Describe says why a running container differs from what is wanted.
func Describe(c Observed, svc Service) string {
	switch {
	case c.Hash == "":
		return "not created by cutover"
	case imageOf(c.Hash) != imageOf(svc.Hash):
		return fmt.Sprintf("image changed: %s → %s", c.Image, svc.Template.Image)
	default:
		return "configuration changed"
	}
}

// imageOf returns the image part of a container hash (config/image).
func imageOf(hash string) string {
	_, image, _ := strings.Cut(hash, "/")
	return image
}

// OrphanSteps stops the containers of services no longer in the stack and
// removes them on confirm.
func OrphanSteps(current Snapshot, want Desired) (steps, confirm []Step) {
	wanted := map[string]bool{}
	for _, svc := range want.Services {
		wanted[svc.Name] = true
	}
	const cause = "service no longer in the stack"
	for _, name := range current.Services() {
		if wanted[name] {
			continue
		}
		for _, c := range current.Containers[name] {
			if IsTemporaryName(c.Name) {
				continue
			}
			if c.Running() {
				steps = append(steps, Step{Action: ActionStop, Service: name, Container: c.Name, Cause: cause})
			}
			confirm = append(confirm, Step{Action: ActionRemove, Service: name, Container: c.Name, Cause: cause})
		}
	}
	return steps, confirm
}
