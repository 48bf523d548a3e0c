package bluegreen

import (
	"slices"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// colorNetworks lists the networks of a color's project that exist:
// <stack>-<color>_<key>, or a network with its own name and the color as
// suffix (see compose's naming of color networks).
func colorNetworks(current strategies.Snapshot, stack, color string) []string {
	var out []string
	for name := range current.Networks {
		if strings.HasPrefix(name, stack+"-"+color+"_") || (strings.HasSuffix(name, "_"+color) && !strings.HasPrefix(name, stack+"_")) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// swapColor names a color network's twin in the other color.
func swapColor(network, from, to string) string {
	if i := strings.Index(network, "-"+from+"_"); i >= 0 {
		return network[:i] + "-" + to + "_" + network[i+len(from)+2:]
	}
	if s, ok := strings.CutSuffix(network, "_"+from); ok {
		return s + "_" + to
	}
	return network
}
