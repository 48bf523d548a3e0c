package compose

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// A stack the CLI loads and sends to the daemon as Spec(nil) must come out
// of LoadRemote as the same containers, labels and config hashes, so a
// release made through the daemon matches one made in-process and neither
// replaces the other's containers for nothing.
func TestLoadRemote_SameDesiredAsLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".env", "TAG=1.4.2\nGREETING=hi\n")
	writeFile(t, dir, "web.env", "FROM_ENV_FILE=yes\n")
	writeFile(t, dir, "static/index.html", "hello\n")
	base := writeFile(t, dir, "compose.yaml", `
name: shop
services:
  web:
    image: myorg/web:${TAG}
    env_file: [web.env]
    environment:
      GREETING: ${GREETING}
    ports: ["8080:80"]
    volumes:
      - data:/data
      - ./static:/static:ro
    healthcheck:
      test: ["CMD", "/web", "-probe"]
      interval: 2s
    stop_grace_period: 3s
    depends_on: [db]
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 1s, order: start-first}
    labels:
      team: shop
    x-cutover:
      route: {port: 80, health: /healthz}
  db:
    image: myorg/db:1
    networks: [back]
    x-cutover:
      shared: true
networks:
  back: {}
volumes:
  data: {}
x-cutover:
  strategy: rolling
  min_ready: 500ms
  health_timeout: 20s
`)
	override := writeFile(t, dir, "compose.override.yaml", "services:\n  web:\n    environment:\n      EXTRA: \"1\"\n")
	local := mustLoad(t, LoadOptions{Files: []string{base, override}})

	spec, err := local.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := LoadRemote(context.Background(), local.Name, local.WorkingDir(), local.ConfigFiles(), spec)
	if err != nil {
		t.Fatalf("LoadRemote: %v", err)
	}
	if remote.Name != "shop" || remote.WorkingDir() != dir || !slices.Equal(remote.ConfigFiles(), []string{base, override}) {
		t.Errorf("remote stack %s in %s from %v; want shop in %s from %v", remote.Name, remote.WorkingDir(), remote.ConfigFiles(), dir, []string{base, override})
	}
	if !reflect.DeepEqual(remote.Ext, local.Ext) || !reflect.DeepEqual(remote.Services, local.Services) {
		t.Errorf("x-cutover differs:\nremote %+v %+v\nlocal  %+v %+v", remote.Ext, remote.Services, local.Ext, local.Services)
	}
	images := map[string]ResolvedImage{"web": {Ref: "myorg/web:1.4.2", ID: "sha256:aa"}, "db": {Ref: "myorg/db:1", ID: "sha256:bb"}}
	for _, router := range []string{RouterNone, RouterProxy} {
		want, err := local.DesiredWith(3, images, DesiredOptions{Router: router})
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.DesiredWith(3, images, DesiredOptions{Router: router})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("router %s: desired differs\nremote: %+v\nlocal:  %+v", router, got, want)
		}
	}
}

func TestLoadRemote_RelativePaths(t *testing.T) {
	st := loadYAML(t, "services:\n  web:\n    image: myorg/web:1\n")
	spec, err := st.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := LoadRemote(ctx, st.Name, "relative/dir", st.ConfigFiles(), spec); err == nil {
		t.Error("a relative working dir was accepted")
	}
	if _, err := LoadRemote(ctx, st.Name, st.WorkingDir(), []string{filepath.Base(st.ConfigFiles()[0])}, spec); err == nil {
		t.Error("a relative config file was accepted")
	}
}
