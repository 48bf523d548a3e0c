package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/engine/enginetest"
	"github.com/cutover/cutover/internal/store"
)

// TestPrintStackStatus_Colors: `cutover status` calls standby only the old
// color a switch left running; the color a blue-green or canary release is
// being deployed into is "deploying". The status comes from the daemon's
// own computation over the store and an engine holding both colors.
func TestPrintStackStatus_Colors(t *testing.T) {
	type rel struct {
		status   store.Status
		strategy string
		color    string
		weight   int
	}
	for _, tc := range []struct {
		desc     string
		releases []rel // releases 1, 2 …; each runs two containers of its color
		want     []string
		not      []string
	}{
		{
			desc:     "blue-green release deploying",
			releases: []rel{{store.StatusActive, "bluegreen", "blue", 0}, {store.StatusDeploying, "bluegreen", "green", 0}},
			want:     []string{"color:    blue serves\n", "deploying: green, release 2, 2/2 running\n"},
			not:      []string{"standby:"},
		},
		{
			desc: "canary release in its steps",
			releases: []rel{{store.StatusSuperseded, "bluegreen", "blue", 0}, {store.StatusActive, "bluegreen", "green", 0},
				{store.StatusDeploying, "canary", "blue", 20}},
			want: []string{"color:    green serves\n", "deploying: blue, release 3, 2/2 running\n", "canary:   release 3 in blue gets 20% of new requests"},
			not:  []string{"standby:"},
		},
		{
			desc:     "release awaiting confirmation",
			releases: []rel{{store.StatusSuperseded, "bluegreen", "blue", 0}, {store.StatusAwaitingConfirm, "bluegreen", "green", 0}},
			want:     []string{"color:    green serves\n", "standby:  blue, release 1, 2/2 running (confirm removes it, rollback switches back)\n"},
			not:      []string{"deploying:"},
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(filepath.Join(t.TempDir(), "state"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			eng := enginetest.New(nil)
			eng.AddImage("web:1", "sha256:web1")
			for i, r := range tc.releases {
				n := i + 1
				if _, err := st.CreateRelease(ctx, store.Release{Stack: "shop", Status: r.status, Strategy: r.strategy, Color: r.color, Weight: r.weight}); err != nil {
					t.Fatal(err)
				}
				// A color's containers are its newest release's.
				for k := 1; k <= 2; k++ {
					name := fmt.Sprintf("shop-%s-web-%d", r.color, k)
					_ = eng.RemoveContainer(ctx, name, true)
					labels := map[string]string{compose.LabelProject: compose.ColorProject("shop", r.color), compose.LabelService: "web",
						compose.LabelColor: r.color, compose.LabelRelease: fmt.Sprint(n)}
					if _, err := eng.CreateContainer(ctx, engine.ContainerSpec{Name: name, Image: "web:1", Labels: labels}); err != nil {
						t.Fatal(err)
					}
					if err := eng.StartContainer(ctx, name); err != nil {
						t.Fatal(err)
					}
				}
			}
			status, err := daemon.NewOps(eng, st, nil).Status(ctx, "shop")
			if err != nil {
				t.Fatal(err)
			}
			// -o json says the same: a standby only when one is kept.
			if wantStandby := !slices.Contains(tc.not, "standby:"); (status.Standby != nil) != wantStandby {
				t.Errorf("status standby = %+v, want one: %t", status.Standby, wantStandby)
			}
			var out bytes.Buffer
			printStackStatus(&globals{stdout: &out}, status)
			for _, want := range tc.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("status does not say %q:\n%s", want, out.String())
				}
			}
			for _, not := range tc.not {
				if strings.Contains(out.String(), not) {
					t.Errorf("status says %q:\n%s", not, out.String())
				}
			}
		})
	}
}
