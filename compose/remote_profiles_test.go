package compose

import (
	"context"
	"os"
	"reflect"
	"slices"
	"testing"
)

const profilesYAML = `
services:
  web: {image: myorg/web:1}
  debug: {image: myorg/web:1, profiles: [dbg]}
`

// A stack loaded with a profile active must keep that profile's services
// when it travels as a spec: through the daemon (Spec(nil) → LoadRemote)
// and in a release record (Spec(images) → LoadRemote, for rollback --to,
// redeploys and routers), however the profile was chosen.
func TestLoadRemote_KeepsServicesOfActiveProfiles(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "compose.yaml", profilesYAML)
	ctx := context.Background()
	tests := []struct {
		name string
		opts LoadOptions
		want []string
	}{
		{"--profile", LoadOptions{Files: []string{file}, Profiles: []string{"dbg"}}, []string{"debug", "web"}},
		{"COMPOSE_PROFILES", LoadOptions{Files: []string{file}, Env: []string{"COMPOSE_PROFILES=dbg"}}, []string{"debug", "web"}},
		{"COMPOSE_PROFILES in .env", LoadOptions{Files: []string{file}, EnvFiles: []string{writeFile(t, dir, "dbg.env", "COMPOSE_PROFILES=dbg\n")}}, []string{"debug", "web"}},
		{"no profile", LoadOptions{Files: []string{file}}, []string{"web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := mustLoad(t, tt.opts)
			if got := local.ServiceNames(); !slices.Equal(got, tt.want) {
				t.Fatalf("Load: services %v, want %v", got, tt.want)
			}
			shipped, err := local.Spec(nil)
			if err != nil {
				t.Fatal(err)
			}
			remote, err := LoadRemote(ctx, local.Name, local.WorkingDir(), local.ConfigFiles(), shipped)
			if err != nil {
				t.Fatalf("LoadRemote: %v", err)
			}
			if got := remote.ServiceNames(); !slices.Equal(got, tt.want) {
				t.Errorf("through the daemon: services %v, want %v", got, tt.want)
			}
			images := imagesFor(local)
			want, err := local.Desired(1, images)
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Desired(1, images)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("through the daemon: desired differs: remote runs %v, local %v", serviceNames(got), serviceNames(want))
			}

			// A release recorded from that stack, and one recorded from
			// the stack loaded back from it (rollback --to of a rollback).
			spec := shipped
			for gen := 1; gen <= 2; gen++ {
				pinned := map[string]string{}
				for name, img := range images {
					pinned[name] = img.Ref + "@sha256:0000"
				}
				spec, err = remote.Spec(pinned)
				if err != nil {
					t.Fatal(err)
				}
				remote, err = LoadRemote(ctx, local.Name, local.WorkingDir(), local.ConfigFiles(), spec)
				if err != nil {
					t.Fatalf("LoadRemote of recorded spec %d: %v", gen, err)
				}
				if got := remote.ServiceNames(); !slices.Equal(got, tt.want) {
					t.Errorf("recorded spec %d: services %v, want %v", gen, got, tt.want)
				}
			}
		})
	}
}

// A recorded spec loads without the env files it came from: their
// variables are in the spec already, and a release must deploy again
// (rollback --to N, a redeploy) after its env file was deleted or changed.
func TestLoadSpec_NeedsNoEnvFile(t *testing.T) {
	dir := t.TempDir()
	env := writeFile(t, dir, "web.env", "GREETING=from-the-file\n")
	f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web:\n    image: web\n    env_file: [web.env]\n")
	st := mustLoad(t, LoadOptions{Files: []string{f}})
	spec, err := st.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(env); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRemote(context.Background(), "shop", dir, []string{f}, spec)
	if err != nil {
		t.Fatalf("loading the recorded spec after its env file was deleted: %v", err)
	}
	if v := back.Project.Services["web"].Environment["GREETING"]; v == nil || *v != "from-the-file" {
		t.Errorf("GREETING = %v, want the value the release ran with", v)
	}
}
