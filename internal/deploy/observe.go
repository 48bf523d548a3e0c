package deploy

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/strategies"
)

// Observe takes one snapshot of what runs for a stack: its containers
// (including ones docker compose made), networks and volumes.
func Observe(ctx context.Context, eng engine.Engine, stack string) (strategies.Snapshot, error) {
	snap := strategies.Snapshot{Stack: stack, Containers: map[string][]strategies.Observed{},
		Networks: map[string]bool{}, Volumes: map[string]bool{}}
	project := map[string]string{compose.LabelProject: stack}
	containers, err := eng.ListContainers(ctx, project)
	if err != nil {
		return snap, fmt.Errorf("listing containers of %s: %w", stack, err)
	}
	for _, c := range containers {
		if c.Labels[compose.LabelOneoff] == "True" {
			continue // docker compose run containers are not part of the stack
		}
		o := observed(c)
		snap.Containers[o.Service] = append(snap.Containers[o.Service], o)
	}
	for svc := range snap.Containers {
		strategies.SortObserved(snap.Containers[svc])
	}
	for _, p := range compose.StackProjects(stack) {
		networks, err := eng.ListNetworks(ctx, map[string]string{compose.LabelProject: p})
		if err != nil {
			return snap, fmt.Errorf("listing networks of %s: %w", p, err)
		}
		for _, n := range networks {
			snap.Networks[n.Name] = true
		}
	}
	snap.Colors = map[string]map[string][]strategies.Observed{}
	for _, color := range []string{strategies.ColorBlue, strategies.ColorGreen} {
		p := compose.ColorProject(stack, color)
		cs, err := eng.ListContainers(ctx, map[string]string{compose.LabelProject: p})
		if err != nil {
			return snap, fmt.Errorf("listing containers of %s: %w", p, err)
		}
		byService := map[string][]strategies.Observed{}
		for _, c := range cs {
			o := observed(c)
			byService[o.Service] = append(byService[o.Service], o)
		}
		for svc := range byService {
			strategies.SortObserved(byService[svc])
		}
		snap.Colors[color] = byService
	}
	volumes, err := eng.ListVolumes(ctx, project)
	if err != nil {
		return snap, fmt.Errorf("listing volumes of %s: %w", stack, err)
	}
	for _, v := range volumes {
		snap.Volumes[v.Name] = true
	}
	return snap, nil
}

func observed(c engine.Container) strategies.Observed {
	o := strategies.Observed{Container: c, Service: c.Labels[compose.LabelService], Hash: compose.ContainerHash(c.Labels)}
	o.Number, _ = strconv.Atoi(c.Labels[compose.LabelNumber])
	o.Release, _ = strconv.Atoi(c.Labels[compose.LabelRelease])
	return o
}

// StackContainers lists the containers of a stack's projects: its own and
// its blue-green colors' (compose.StackProjects), as down, status and
// settling a release see the stack.
func StackContainers(ctx context.Context, eng engine.Engine, stack string) ([]engine.Container, error) {
	var out []engine.Container
	for _, project := range compose.StackProjects(stack) {
		cs, err := eng.ListContainers(ctx, map[string]string{compose.LabelProject: project})
		if err != nil {
			return nil, fmt.Errorf("listing containers of %s: %w", project, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}
