package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/strategies"
)

// Stacks returns the status of every stack the store knows, by name.
func (o *Ops) Stacks(ctx context.Context) ([]api.StackStatus, error) {
	stacks, err := o.Store.ListStacks(ctx)
	if err != nil {
		return nil, api.EnvError(err)
	}
	routes := o.routes()
	out := make([]api.StackStatus, 0, len(stacks))
	for _, s := range stacks {
		st, err := o.status(ctx, s.Name, routes)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Status returns one stack's serving release, latest release, containers
// and routes.
func (o *Ops) Status(ctx context.Context, name string) (api.StackStatus, error) {
	return o.status(ctx, name, o.routes())
}

func (o *Ops) routes() []lb.RouteStatus {
	if o.Routes == nil {
		return nil
	}
	return o.Routes()
}

func (o *Ops) status(ctx context.Context, name string, routes []lb.RouteStatus) (api.StackStatus, error) {
	st := api.StackStatus{Stack: name, Containers: []api.ContainerStatus{}}
	rec, err := o.Store.GetStack(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrStackNotFound) {
		return st, api.EnvError(err)
	}
	st.Down = rec.Down
	if known {
		if r, err := o.Store.LatestRelease(ctx, name, store.StatusActive, store.StatusAwaitingConfirm); err == nil {
			r = Shown(r)
			st.Release = &r
		}
		if r, err := o.Store.LatestRelease(ctx, name); err == nil && (st.Release == nil || r.Number != st.Release.Number) {
			r = Shown(r)
			st.Latest = &r
		}
	}
	// The stack's own project and its blue-green colors, as down finds them.
	containers, err := deploy.StackContainers(ctx, o.Engine, name)
	if err != nil {
		return st, api.EnvError(err)
	}
	if !known && len(containers) == 0 {
		return st, deploy.BadInput(fmt.Sprintf("no stack named %q", name))
	}
	sort.Slice(containers, func(i, j int) bool { return containers[i].Name < containers[j].Name })
	for _, c := range containers {
		st.Containers = append(st.Containers, containerStatus(c))
	}
	if st.Release != nil && st.Release.Color != "" && !st.Down {
		st.Color = st.Release.Color
		// The other color is the standby only when it is not the one a
		// release is being deployed into.
		idle := strategies.OtherColor(st.Color)
		if l := st.Latest; l == nil || l.Color != idle || (l.Status != store.StatusPending && l.Status != store.StatusDeploying) {
			st.Standby = standbyOf(st.Containers, idle)
		}
	}
	for _, r := range routes {
		if strings.HasPrefix(r.Route.Name, name+"/") {
			st.Routes = append(st.Routes, r)
		}
	}
	return st, nil
}

// Shown is a release as status, the API and the CLI return it: its spec with the
// secrets of x-cutover.notify redacted (compose.RedactSpec). Every path that
// hands a recorded release to a client goes through here; the store keeps
// the real values.
func Shown(r store.Release) store.Release {
	r.Spec = compose.RedactSpec(r.Spec)
	return r
}

func containerStatus(c engine.Container) api.ContainerStatus {
	return api.ContainerStatus{Name: c.Name, Service: c.Labels[compose.LabelService], Color: c.Labels[compose.LabelColor],
		State: c.State, Health: c.Health, Image: c.Image, Release: c.Labels[compose.LabelRelease]}
}

// standbyOf summarises the containers of the color that does not serve,
// or nil when none are left.
func standbyOf(cs []api.ContainerStatus, color string) *api.Standby {
	running, total := api.CountColor(cs, color)
	if total == 0 {
		return nil
	}
	sb := &api.Standby{Color: color, Running: running, Total: total}
	for _, c := range cs {
		if c.Color != color {
			continue
		}
		if n, _ := strconv.Atoi(c.Release); n > 0 {
			if cur, _ := strconv.Atoi(sb.Release); n > cur {
				sb.Release = c.Release
			}
		}
	}
	return sb
}
