package docker

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/cutover/cutover/internal/engine"
)

func TestPing(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	info, err := e.Ping(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.ServerVersion == "" || info.APIVersion == "" {
		t.Fatalf("incomplete info: %+v", info)
	}
	t.Logf("engine %s, API %s", info.ServerVersion, info.APIVersion)
}

func TestContainerLifecycle(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	img := buildTestImage(t, e)
	front := createTestNetwork(t, e, sfx, "front")
	back := createTestNetwork(t, e, sfx, "back")

	vol := "cutover-test-data-" + sfx
	cleanupVolume(t, e, vol)
	if _, err := e.CreateVolume(ctx, engine.VolumeSpec{Name: vol, Labels: map[string]string{testLabel: sfx}}); err != nil {
		t.Fatal(err)
	}

	name := "cutover-test-web-" + sfx
	cleanupContainer(t, e, name)
	labels := map[string]string{testLabel: sfx, "cutover.role": "web"}
	spec := engine.ContainerSpec{
		Name:       name,
		Image:      img,
		Env:        []string{"FOO=bar"},
		Labels:     labels,
		WorkingDir: "/",
		Hostname:   "webhost",
		Healthcheck: &engine.Healthcheck{
			Test:     []string{"CMD", "/app", "health"},
			Interval: 300 * time.Millisecond,
			Timeout:  5 * time.Second,
			Retries:  3,
		},
		Restart:     engine.RestartPolicy{Name: "on-failure", MaxRetries: 2},
		StopSignal:  "SIGTERM",
		StopTimeout: ptr(7 * time.Second),
		Ports:       []engine.PortBinding{{ContainerPort: 8080, HostIP: "127.0.0.1"}},
		Networks: []engine.NetworkAttachment{
			{Network: front, Aliases: []string{"web", "web-blue"}},
			{Network: back, Aliases: []string{"api"}},
		},
		Mounts: []engine.Mount{
			{Type: "volume", Source: vol, Target: "/data"},
			{Type: "tmpfs", Target: "/scratch"},
		},
		ExtraHosts: []string{"example.test:10.1.2.3"},
		Init:       ptr(true),
		StdinOpen:  true,
		ReadOnly:   true,
		CapAdd:     []string{"NET_ADMIN"},
		CapDrop:    []string{"MKNOD"},
		Sysctls:    map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"},
		Tmpfs:      map[string]string{"/run": "size=1m"},
	}
	id, err := e.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Fatal("empty container ID")
	}

	// Everything in the spec reached the engine.
	raw, err := e.Client().ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cfg, hc := raw.Config, raw.HostConfig
	if !slices.Contains(cfg.Env, "FOO=bar") || cfg.Hostname != "webhost" || cfg.WorkingDir != "/" || !cfg.OpenStdin || cfg.Tty {
		t.Errorf("config not mapped: env=%v hostname=%q workdir=%q openstdin=%v tty=%v", cfg.Env, cfg.Hostname, cfg.WorkingDir, cfg.OpenStdin, cfg.Tty)
	}
	if cfg.Healthcheck == nil || !slices.Equal(cfg.Healthcheck.Test, spec.Healthcheck.Test) || cfg.Healthcheck.Interval != 300*time.Millisecond || cfg.Healthcheck.Retries != 3 {
		t.Errorf("healthcheck not mapped: %+v", cfg.Healthcheck)
	}
	if cfg.StopTimeout == nil || *cfg.StopTimeout != 7 || cfg.StopSignal != "SIGTERM" {
		t.Errorf("stop settings not mapped: %v %q", cfg.StopTimeout, cfg.StopSignal)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("port not exposed: %v", cfg.ExposedPorts)
	}
	if b := hc.PortBindings["8080/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" {
		t.Errorf("port binding not mapped: %v", hc.PortBindings)
	}
	if hc.RestartPolicy.Name != "on-failure" || hc.RestartPolicy.MaximumRetryCount != 2 {
		t.Errorf("restart policy not mapped: %+v", hc.RestartPolicy)
	}
	if hc.Init == nil || !*hc.Init || !hc.ReadonlyRootfs || hc.Privileged {
		t.Errorf("init/readonly/privileged not mapped: %v %v %v", hc.Init, hc.ReadonlyRootfs, hc.Privileged)
	}
	if !slices.Contains(hc.ExtraHosts, "example.test:10.1.2.3") || hc.Tmpfs["/run"] != "size=1m" || hc.Sysctls["net.ipv4.ip_unprivileged_port_start"] != "80" {
		t.Errorf("extra hosts/tmpfs/sysctls not mapped: %v %v %v", hc.ExtraHosts, hc.Tmpfs, hc.Sysctls)
	}
	if !slices.ContainsFunc(hc.CapAdd, func(s string) bool { return strings.HasSuffix(s, "NET_ADMIN") }) ||
		!slices.ContainsFunc(hc.CapDrop, func(s string) bool { return strings.HasSuffix(s, "MKNOD") }) {
		t.Errorf("capabilities not mapped: add=%v drop=%v", hc.CapAdd, hc.CapDrop)
	}
	if len(hc.Mounts) != 2 || hc.Mounts[0].Source != vol || hc.Mounts[0].Target != "/data" || hc.Mounts[1].Type != "tmpfs" {
		t.Errorf("mounts not mapped: %+v", hc.Mounts)
	}
	// Attached to both networks, with their aliases.
	for netName, aliases := range map[string][]string{front: {"web", "web-blue"}, back: {"api"}} {
		ep := raw.NetworkSettings.Networks[netName]
		if ep == nil {
			t.Errorf("not attached to %s: %v", netName, raw.NetworkSettings.Networks)
			continue
		}
		for _, a := range aliases {
			if !slices.Contains(ep.Aliases, a) {
				t.Errorf("network %s: alias %q missing from %v", netName, a, ep.Aliases)
			}
		}
	}
	if len(raw.NetworkSettings.Networks) != 2 {
		t.Errorf("expected exactly two networks, got %v", raw.NetworkSettings.Networks)
	}

	c, err := e.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Name != name || c.Image != img || c.ImageID == "" || c.State != "created" || c.Running() {
		t.Errorf("created container: %+v", c)
	}
	if c.Labels["cutover.role"] != "web" {
		t.Errorf("labels: %v", c.Labels)
	}

	if err := e.StartContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the container to become healthy", func() (bool, error) {
		c, err = e.InspectContainer(ctx, name)
		return err == nil && c.Health == "healthy", err
	})
	if !c.Running() || c.StartedAt.IsZero() || !c.FinishedAt.IsZero() || c.RestartCount != 0 {
		t.Errorf("running container: %+v", c)
	}
	for _, n := range []string{front, back} {
		if ip := c.Networks[n]; ip == "" || strings.Contains(ip, "/") {
			t.Errorf("no IPv4 address on %s: %v", n, c.Networks)
		}
	}

	// Logs.
	waitFor(t, 10*time.Second, "all log lines", func() (bool, error) {
		out, err := e.ContainerLogs(ctx, name, 0)
		return err == nil && len(lines(out)) == 10, err
	})
	all, err := e.ContainerLogs(ctx, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"out 1", "err 1", "out 5", "err 5"} {
		if !strings.Contains(all, want) {
			t.Errorf("logs lack %q:\n%s", want, all)
		}
	}
	tail, err := e.ContainerLogs(ctx, name, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The engine orders the two streams by its own timestamps: compare with
	// the end of the full log rather than assume an interleaving.
	if got, want := lines(tail), lines(all)[8:]; !slices.Equal(got, want) {
		t.Errorf("tail 2 = %q, want %q (all: %q)", got, want, lines(all))
	}
	if strings.ContainsAny(tail, "\x00\x01\x02") {
		t.Errorf("logs not demultiplexed: %q", tail)
	}

	// Listing by labels.
	for _, tc := range []struct {
		labels map[string]string
		want   int
	}{
		{map[string]string{testLabel: sfx}, 1},
		{map[string]string{testLabel: sfx, "cutover.role": "web"}, 1},
		{map[string]string{testLabel: sfx, "cutover.role": ""}, 1},
		{map[string]string{testLabel: sfx, "cutover.role": "db"}, 0},
		{map[string]string{testLabel: sfx, "cutover.missing": ""}, 0},
	} {
		list, err := e.ListContainers(ctx, tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != tc.want {
			t.Errorf("ListContainers(%v) = %d containers, want %d", tc.labels, len(list), tc.want)
			continue
		}
		if tc.want == 1 && (list[0].Name != name || list[0].Health != "healthy" || len(list[0].Networks) != 2) {
			t.Errorf("ListContainers(%v)[0] = %+v", tc.labels, list[0])
		}
	}

	// Stop, twice.
	if err := e.StopContainer(ctx, name, ptr(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := e.StopContainer(ctx, name, nil); err != nil {
		t.Fatalf("stopping a stopped container: %v", err)
	}
	c, err = e.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "exited" || c.ExitCode != 0 || c.FinishedAt.IsZero() {
		t.Errorf("stopped container: %+v", c)
	}
	// Stopped containers are listed too.
	if list, err := e.ListContainers(ctx, map[string]string{testLabel: sfx}); err != nil || len(list) != 1 {
		t.Errorf("listing stopped containers: %v, %v", list, err)
	}

	// Rename.
	newName := name + "-old"
	cleanupContainer(t, e, newName)
	if err := e.RenameContainer(ctx, name, newName); err != nil {
		t.Fatal(err)
	}
	if c, err := e.InspectContainer(ctx, newName); err != nil || c.Name != newName || c.ID != id {
		t.Errorf("after rename: %+v, %v", c, err)
	}
	if _, err := e.InspectContainer(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("old name after rename: want ErrNotFound, got %v", err)
	}

	// Remove, twice.
	if err := e.RemoveContainer(ctx, newName, true); err != nil {
		t.Fatal(err)
	}
	err = e.RemoveContainer(ctx, newName, true)
	if !errors.Is(err, engine.ErrNotFound) || !cerrdefs.IsNotFound(err) {
		t.Errorf("removing a removed container: want ErrNotFound, got %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "removing container "+newName) || !strings.Contains(strings.ToLower(err.Error()), "no such container") {
		t.Errorf("error message: %v", err)
	}
	if _, err := e.InspectContainer(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("inspecting a removed container: want ErrNotFound, got %v", err)
	}
	for _, op := range []struct {
		name string
		err  error
	}{
		{"start", e.StartContainer(ctx, newName)},
		{"stop", e.StopContainer(ctx, newName, nil)},
		{"rename", e.RenameContainer(ctx, newName, newName+"x")},
	} {
		if !errors.Is(op.err, engine.ErrNotFound) {
			t.Errorf("%s on a missing container: want ErrNotFound, got %v", op.name, op.err)
		}
	}
	if _, err := e.ContainerLogs(ctx, newName, 1); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("logs of a missing container: want ErrNotFound, got %v", err)
	}
}

func TestContainerExitCodeDefaultBridge(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	img := buildTestImage(t, e)
	name := "cutover-test-exit-" + sfx
	cleanupContainer(t, e, name)
	if _, err := e.CreateContainer(ctx, engine.ContainerSpec{
		Name:    name,
		Image:   img,
		Command: []string{"exit", "3"},
		Labels:  map[string]string{testLabel: sfx},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.StartContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	var c engine.Container
	waitFor(t, 30*time.Second, "the container to exit", func() (bool, error) {
		var err error
		c, err = e.InspectContainer(ctx, name)
		return err == nil && c.State == "exited", err
	})
	if c.ExitCode != 3 || c.FinishedAt.IsZero() || c.StartedAt.IsZero() || c.Health != "" {
		t.Errorf("exited container: %+v", c)
	}
	if _, ok := c.Networks["bridge"]; !ok || len(c.Networks) != 1 {
		t.Errorf("expected the default bridge only, got %v", c.Networks)
	}
	logs, err := e.ContainerLogs(ctx, name, 10)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(logs) != "exiting with 3" {
		t.Errorf("logs = %q", logs)
	}
	if err := e.StopContainer(ctx, name, ptr(time.Second)); err != nil {
		t.Errorf("stopping an exited container: %v", err)
	}
}

func TestCreateContainerConnectFailureRemovesContainer(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	img := buildTestImage(t, e)
	front := createTestNetwork(t, e, sfx, "front")
	missing := "cutover-test-missing-" + sfx
	name := "cutover-test-half-" + sfx
	cleanupContainer(t, e, name)

	_, err := e.CreateContainer(ctx, engine.ContainerSpec{
		Name:   name,
		Image:  img,
		Labels: map[string]string{testLabel: sfx},
		Networks: []engine.NetworkAttachment{
			{Network: front, Aliases: []string{"web"}},
			{Network: missing, Aliases: []string{"web"}},
		},
	})
	if err == nil {
		t.Fatal("expected an error connecting to a missing network")
	}
	if !strings.Contains(err.Error(), "creating container "+name) || !strings.Contains(err.Error(), missing) {
		t.Errorf("error message: %v", err)
	}
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("missing network: want ErrNotFound, got %v", err)
	}
	if _, err := e.InspectContainer(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("the half-made container was left behind: %v", err)
	}

	// The engine itself refuses the second attachment: a fixed IP on a
	// network without a user-configured subnet.
	back := createTestNetwork(t, e, sfx, "back")
	_, err = e.CreateContainer(ctx, engine.ContainerSpec{
		Name:   name,
		Image:  img,
		Labels: map[string]string{testLabel: sfx},
		Networks: []engine.NetworkAttachment{
			{Network: front},
			{Network: back, IPv4Address: "10.254.254.254"},
		},
	})
	if err == nil || !strings.Contains(err.Error(), "connecting it to network "+back) {
		t.Fatalf("expected the engine to refuse the attachment, got %v", err)
	}
	t.Logf("engine refusal: %v", err)
	if _, err := e.InspectContainer(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("the half-made container was left behind: %v", err)
	}

	// A missing first network fails the create itself.
	_, err = e.CreateContainer(ctx, engine.ContainerSpec{
		Name:     name,
		Image:    img,
		Networks: []engine.NetworkAttachment{{Network: missing}},
	})
	if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing first network: want ErrNotFound naming it, got %v", err)
	}
	if _, err := e.InspectContainer(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a container was left behind: %v", err)
	}
}

func TestCreateContainerMissingImage(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	sfx := suffix(t)
	name := "cutover-test-noimg-" + sfx
	cleanupContainer(t, e, name)
	_, err := e.CreateContainer(testCtx(t), engine.ContainerSpec{Name: name, Image: "cutover-test/missing:" + sfx})
	if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "creating container "+name) {
		t.Fatalf("want a not-found error naming the container, got %v", err)
	}
}

func TestNetworks(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	name := "cutover-test-net-" + sfx
	longer := name + "-longer"
	cleanupNetwork(t, e, name)
	cleanupNetwork(t, e, longer)

	// A network whose name merely contains ours must not count as ours.
	if created, err := e.CreateNetwork(ctx, engine.NetworkSpec{Name: longer, Labels: map[string]string{testLabel: sfx, "kind": "other"}}); err != nil || !created {
		t.Fatalf("create %s: %v %v", longer, created, err)
	}
	spec := engine.NetworkSpec{
		Name:       name,
		Driver:     "bridge",
		Labels:     map[string]string{testLabel: sfx, "kind": "main"},
		Internal:   true,
		Attachable: true,
		Options:    map[string]string{"com.docker.network.bridge.enable_icc": "true"},
	}
	created, err := e.CreateNetwork(ctx, spec)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	created, err = e.CreateNetwork(ctx, spec)
	if err != nil || created {
		t.Fatalf("second create: want (false, nil), got (%v, %v)", created, err)
	}
	raw, err := e.Client().NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if raw.Driver != "bridge" || !raw.Internal || !raw.Attachable || raw.Labels["kind"] != "main" ||
		raw.Options["com.docker.network.bridge.enable_icc"] != "true" {
		t.Errorf("network not created as specified: %+v", raw)
	}

	list, err := e.ListNetworks(ctx, map[string]string{testLabel: sfx})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != name || list[1].Name != longer || list[0].ID == "" || list[0].Labels["kind"] != "main" {
		t.Errorf("ListNetworks = %+v", list)
	}
	if list, err := e.ListNetworks(ctx, map[string]string{testLabel: sfx, "kind": "main"}); err != nil || len(list) != 1 || list[0].Name != name {
		t.Errorf("ListNetworks by two labels = %+v, %v", list, err)
	}
	if list, err := e.ListNetworks(ctx, map[string]string{testLabel: sfx, "nope": ""}); err != nil || len(list) != 0 {
		t.Errorf("ListNetworks with a missing key = %+v, %v", list, err)
	}

	if err := e.RemoveNetwork(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveNetwork(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("removing a removed network: want ErrNotFound, got %v", err)
	}
	if list, err := e.ListNetworks(ctx, map[string]string{testLabel: sfx}); err != nil || len(list) != 1 {
		t.Errorf("after removal: %+v, %v", list, err)
	}
}

func TestVolumes(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	name := "cutover-test-vol-" + sfx
	other := name + "-other"
	cleanupVolume(t, e, name)
	cleanupVolume(t, e, other)

	spec := engine.VolumeSpec{Name: name, Driver: "local", Labels: map[string]string{testLabel: sfx, "kind": "main"}}
	created, err := e.CreateVolume(ctx, spec)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	created, err = e.CreateVolume(ctx, spec)
	if err != nil || created {
		t.Fatalf("second create: want (false, nil), got (%v, %v)", created, err)
	}
	if _, err := e.CreateVolume(ctx, engine.VolumeSpec{Name: other, Labels: map[string]string{testLabel: sfx}}); err != nil {
		t.Fatal(err)
	}

	list, err := e.ListVolumes(ctx, map[string]string{testLabel: sfx})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != name || list[1].Name != other || list[0].Labels["kind"] != "main" {
		t.Errorf("ListVolumes = %+v", list)
	}
	if list, err := e.ListVolumes(ctx, map[string]string{testLabel: sfx, "kind": ""}); err != nil || len(list) != 1 || list[0].Name != name {
		t.Errorf("ListVolumes by key = %+v, %v", list, err)
	}

	if err := e.RemoveVolume(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveVolume(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("removing a removed volume: want ErrNotFound, got %v", err)
	}
}

func TestBuildImageWithDockerignore(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	dir := t.TempDir()
	buildTestBinary(t, filepath.Join(dir, "app"))
	writeFiles(t, dir, map[string]string{
		// The Dockerfile lives in an ignored directory: it must still be sent.
		"build/Dockerfile.app": "FROM scratch AS base\n" +
			"ARG VERSION=dev\n" +
			"LABEL cutover.test.run=" + sfx + " version=$VERSION\n" +
			"COPY . /ctx/\n" +
			"ENTRYPOINT [\"/ctx/app\"]\n" +
			"\n" +
			"FROM base AS broken\n" +
			"COPY does-not-exist /x\n",
		".dockerignore":  "# comment\nsecret.txt\nbuild\n*.log\n!keep.log\n",
		"secret.txt":     "do not send",
		"debug.log":      "ignored",
		"keep.log":       "kept",
		"sub/nested.txt": "nested",
	})

	tag := "cutover-test/built:" + sfx
	tag2 := "cutover-test/built:" + sfx + "-b"
	cleanupImagesByLabel(t, e, "cutover.test.run="+sfx)
	cleanupImage(t, e, tag)
	cleanupImage(t, e, tag2)
	var progress []string
	err := e.BuildImage(ctx, engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: "build/Dockerfile.app",
		Args:       map[string]*string{"VERSION": ptr("1.2.3")},
		Target:     "base",
		Tags:       []string{tag, tag2},
		Labels:     map[string]string{testLabel: sfx},
	}, func(p engine.ImageProgress) {
		if p.ID != "" || strings.Contains(p.Status, "\n") {
			t.Errorf("unexpected build progress %+v", p)
		}
		progress = append(progress, p.Status)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(progress, func(s string) bool { return strings.HasPrefix(s, "Step 1/") }) {
		t.Errorf("no build steps reported: %q", progress)
	}

	img, err := e.InspectImage(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID == "" || !slices.Contains(img.RepoTags, tag) || !slices.Contains(img.RepoTags, tag2) || img.Created.IsZero() {
		t.Errorf("InspectImage = %+v", img)
	}
	raw, err := e.Client().ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if l := raw.Config.Labels; l["version"] != "1.2.3" || l[testLabel] != sfx {
		t.Errorf("image labels = %v", l)
	}

	// Look inside: what .dockerignore excludes was not sent.
	name := "cutover-test-built-" + sfx
	cleanupContainer(t, e, name)
	if _, err := e.CreateContainer(ctx, engine.ContainerSpec{Name: name, Image: tag}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"/ctx/app":            true,
		"/ctx/keep.log":       true,
		"/ctx/sub/nested.txt": true,
		"/ctx/secret.txt":     false,
		"/ctx/debug.log":      false,
	} {
		_, err := e.Client().ContainerStatPath(ctx, name, path)
		if got := err == nil; got != want {
			t.Errorf("%s present = %v, want %v (%v)", path, got, want, err)
		}
	}
}

func TestBuildImageFailure(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":    "FROM scratch\nLABEL cutover.test.run=" + sfx + "\nCOPY secret.txt /secret.txt\n",
		".dockerignore": "secret.txt\n",
		"secret.txt":    "not sent",
	})
	tag := "cutover-test/broken:" + sfx
	cleanupImagesByLabel(t, e, "cutover.test.run="+sfx)
	cleanupImage(t, e, tag)
	err := e.BuildImage(ctx, engine.BuildSpec{ContextDir: dir, Tags: []string{tag}}, nil)
	if err == nil {
		t.Fatal("expected the build to fail")
	}
	if !strings.Contains(err.Error(), "building "+tag+": ") || !strings.Contains(err.Error(), "secret.txt") {
		t.Errorf("error should name the image and carry the builder's message: %v", err)
	}
	if _, err := e.InspectImage(ctx, tag); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a failed build left an image: %v", err)
	}

	// A missing Dockerfile is reported before talking to the engine.
	err = e.BuildImage(ctx, engine.BuildSpec{ContextDir: dir, Dockerfile: "nope.Dockerfile", Tags: []string{tag}}, nil)
	if err == nil || !strings.Contains(err.Error(), "nope.Dockerfile") {
		t.Errorf("missing Dockerfile: %v", err)
	}
}

func TestInspectImageNotFound(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ref := "cutover-test/missing:" + suffix(t)
	_, err := e.InspectImage(testCtx(t), ref)
	if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("want ErrNotFound naming %s, got %v", ref, err)
	}
}

func TestPullNonexistentImage(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := testCtx(t)
	sfx := suffix(t)
	for ref, display := range map[string]string{
		"cutover-test/does-not-exist-" + sfx + ":1": "cutover-test/does-not-exist-" + sfx + ":1",
		// Nothing listens on port 1: fails fast, and shows the :latest default.
		"127.0.0.1:1/cutover-test/nope-" + sfx: "127.0.0.1:1/cutover-test/nope-" + sfx + ":latest",
	} {
		var calls int
		err := e.PullImage(ctx, ref, func(engine.ImageProgress) { calls++ })
		if err == nil {
			t.Errorf("pulling %s: expected an error", ref)
			cleanupImage(t, e, display)
			continue
		}
		if !strings.HasPrefix(err.Error(), "pulling "+display+": ") {
			t.Errorf("error should start with %q: %v", "pulling "+display+": ", err)
		}
		t.Logf("%s: %v", ref, err)
	}
	if err := e.PullImage(ctx, "Bad Reference", nil); err == nil || !strings.Contains(err.Error(), "Bad Reference") {
		t.Errorf("invalid reference: %v", err)
	}
}
