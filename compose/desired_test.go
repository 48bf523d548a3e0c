package compose

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/strategies"
)

func TestDesired_DependencyOrder(t *testing.T) {
	tests := []struct {
		desc     string
		services string
		want     []string
	}{
		{
			desc:     "no dependencies: by name",
			services: "  web: {image: x}\n  api: {image: x}\n  db: {image: x}\n",
			want:     []string{"api", "db", "web"},
		},
		{
			desc:     "dependencies first",
			services: "  api: {image: x, depends_on: [db, cache]}\n  web: {image: x, depends_on: [api]}\n  db: {image: x}\n  cache: {image: x}\n",
			want:     []string{"cache", "db", "api", "web"},
		},
		{
			desc:     "a dependency named after its dependant",
			services: "  a: {image: x, depends_on: [z]}\n  z: {image: x}\n  m: {image: x}\n",
			want:     []string{"z", "a", "m"},
		},
		{
			desc: "long form depends_on",
			services: "  web:\n    image: x\n    depends_on:\n      db: {condition: service_healthy}\n" +
				"  db: {image: x}\n",
			want: []string{"db", "web"},
		},
		{
			desc:     "diamond",
			services: "  top: {image: x, depends_on: [left, right]}\n  left: {image: x, depends_on: [base]}\n  right: {image: x, depends_on: [base]}\n  base: {image: x}\n",
			want:     []string{"base", "left", "right", "top"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st := loadYAML(t, "name: shop\nservices:\n"+tt.services)
			order, err := st.DependencyOrder()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(order, tt.want) {
				t.Errorf("DependencyOrder = %v, want %v", order, tt.want)
			}
			if got := serviceNames(mustDesired(t, st, 1)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Desired services = %v, want %v", got, tt.want)
			}
		})
	}
}

// stackOf builds a Stack around services directly, for what compose-go
// refuses to load (it rejects depends_on cycles itself).
func stackOf(services ...types.ServiceConfig) *Stack {
	p := &types.Project{Name: "shop", Services: types.Services{}}
	for _, s := range services {
		p.Services[s.Name] = s
	}
	return &Stack{Name: "shop", Project: p, Services: map[string]ServiceExtension{}}
}

func dependsOn(names ...string) types.DependsOnConfig {
	d := types.DependsOnConfig{}
	for _, n := range names {
		d[n] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
	}
	return d
}

func svcWithDeps(name string, deps ...string) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	s.Image = name
	s.DependsOn = dependsOn(deps...)
	return s
}

func TestDependencyOrder_Cycle(t *testing.T) {
	tests := []struct {
		desc     string
		services []types.ServiceConfig
		want     []string
	}{
		{
			desc:     "two services",
			services: []types.ServiceConfig{svcWithDeps("a", "b"), svcWithDeps("b", "a")},
			want:     []string{"dependency cycle", "a → b → a"},
		},
		{
			desc:     "three services",
			services: []types.ServiceConfig{svcWithDeps("web", "api"), svcWithDeps("api", "db"), svcWithDeps("db", "web")},
			want:     []string{"dependency cycle", "api → db → web → api"},
		},
		{
			desc:     "self",
			services: []types.ServiceConfig{svcWithDeps("web", "web")},
			want:     []string{"dependency cycle", "web → web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st := stackOf(tt.services...)
			_, err := st.DependencyOrder()
			if err == nil {
				t.Fatal("no error for a dependency cycle")
			}
			wantErrContains(t, err, tt.want...)
			images := map[string]ResolvedImage{}
			for _, s := range tt.services {
				images[s.Name] = ResolvedImage{Ref: s.Name, ID: "sha256:" + s.Name}
			}
			if _, err := st.Desired(1, images); err == nil || !strings.Contains(err.Error(), "dependency cycle") {
				t.Errorf("Desired error = %v, want the dependency cycle", err)
			}
		})
	}
}

// A loaded stack with a cycle fails to load, naming the services.
func TestLoad_DependsOnCycle(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
	err := loadErr(t, LoadOptions{Files: []string{f}})
	wantErrContains(t, err, "compose.yaml", "cycle", "a -> b -> a")
}

func TestDependencyOrder_MissingDependency(t *testing.T) {
	required := svcWithDeps("web", "db")
	st := stackOf(required)
	_, err := st.DependencyOrder()
	if err == nil {
		t.Fatal("no error for a required dependency that is not in the stack")
	}
	wantErrContains(t, err, "services.web.depends_on", `"db"`)

	optional := svcWithDeps("web", "db")
	optional.DependsOn["db"] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: false}
	order, err := stackOf(optional).DependencyOrder()
	if err != nil || !reflect.DeepEqual(order, []string{"web"}) {
		t.Errorf("optional missing dependency: order %v, err %v; want [web], nil", order, err)
	}
}

func TestDesired_MissingImage(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  web: {image: web}\n  db: {image: db}\n")
	_, err := st.Desired(1, map[string]ResolvedImage{"web": {Ref: "web", ID: "sha256:1"}})
	if err == nil {
		t.Fatal("Desired succeeded without an image for db")
	}
	wantErrContains(t, err, "db")
}

func TestDesired_ContainerLabels(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "compose.yaml", `
name: shop
services:
  web:
    image: myorg/web:1.4.2
    labels:
      team: payments
      com.docker.compose.project: spoofed
    depends_on:
      db: {condition: service_healthy}
  db:
    image: postgres:16
`)
	override := writeFile(t, dir, "compose.prod.yaml", "services:\n  web:\n    environment: [MODE=prod]\n")
	st := mustLoad(t, LoadOptions{Files: []string{base, override}})
	d, err := st.Desired(7, map[string]ResolvedImage{
		"web": {Ref: "myorg/web@sha256:abc", ID: "sha256:webid"},
		"db":  {Ref: "postgres:16", ID: "sha256:dbid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Stack != "shop" || d.Release != 7 {
		t.Errorf("Desired stack/release = %s/%d, want shop/7", d.Stack, d.Release)
	}
	web := service(t, d, "web")
	c := web.Container(3)
	if c.Name != "shop-web-3" {
		t.Errorf("container name = %q, want shop-web-3", c.Name)
	}
	if c.Image != "myorg/web@sha256:abc" {
		t.Errorf("image = %q, want the resolved ref", c.Image)
	}
	want := map[string]string{
		LabelProject:     "shop",
		LabelService:     "web",
		LabelNumber:      "3",
		LabelOneoff:      "False",
		LabelImage:       "sha256:webid",
		LabelVersion:     ComposeVersion,
		LabelWorkingDir:  dir,
		LabelConfigFiles: base + "," + override,
		LabelDependsOn:   "db:service_healthy:false",
		LabelStack:       "shop",
		LabelRelease:     "7",
		"team":           "payments",
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if h := c.Labels[LabelConfigHash]; len(h) != 64 {
		t.Errorf("config-hash label = %q, want a sha256 hex digest", h)
	}
	if _, ok := c.Labels[LabelColor]; ok {
		t.Errorf("color label set outside blue-green: %q", c.Labels[LabelColor])
	}
	if web.Hash != ContainerHash(c.Labels) || web.Hash == "" {
		t.Errorf("Service.Hash = %q, want ContainerHash(labels) = %q", web.Hash, ContainerHash(c.Labels))
	}
	if !strings.HasSuffix(web.Hash, "/sha256:webid") {
		t.Errorf("Service.Hash = %q, want it to end in the image ID", web.Hash)
	}
	// Container(n) does not leak the number into the template or other replicas.
	if _, ok := web.Template.Labels[LabelNumber]; ok {
		t.Error("template carries a container-number label")
	}
	if n := web.Container(1).Labels[LabelNumber]; n != "1" {
		t.Errorf("replica 1 container-number = %q", n)
	}
	if c.Labels[LabelNumber] != "3" {
		t.Error("Container(1) changed replica 3's labels")
	}
	if db := service(t, d, "db").Container(1); db.Labels[LabelDependsOn] != "" || db.Labels[LabelService] != "db" || db.Labels[LabelImage] != "sha256:dbid" {
		t.Errorf("db labels = %v", db.Labels)
	}
}

func TestDesired_ContainerName(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  web: {image: web}\n  db: {image: db, container_name: shop-database}\n")
	d := mustDesired(t, st, 1)
	if got := service(t, d, "web").Container(2).Name; got != "shop-web-2" {
		t.Errorf("web replica 2 = %q, want shop-web-2", got)
	}
	if got := service(t, d, "web").NamePrefix; got != "shop-web-" {
		t.Errorf("NamePrefix = %q, want shop-web-", got)
	}
	if got := service(t, d, "db").Container(1).Name; got != "shop-database" {
		t.Errorf("db = %q, want its container_name", got)
	}
	if got := service(t, d, "web").LabelNumber; got != LabelNumber {
		t.Errorf("LabelNumber = %q, want %q", got, LabelNumber)
	}
}

func TestDesired_DefaultNetwork(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  web: {image: web}\n  db: {image: db}\n")
	d := mustDesired(t, st, 1)
	want := []engine.NetworkSpec{{
		Name: "shop_default",
		Labels: map[string]string{
			LabelProject: "shop", LabelNetwork: "default", LabelVersion: ComposeVersion, LabelStack: "shop",
		},
	}}
	if !reflect.DeepEqual(d.Networks, want) {
		t.Errorf("Networks = %+v, want %+v", d.Networks, want)
	}
	if NetworkName("shop", "default") != "shop_default" {
		t.Errorf("NetworkName = %q", NetworkName("shop", "default"))
	}
	for _, name := range []string{"web", "db"} {
		nets := service(t, d, name).Template.Networks
		wantNets := []engine.NetworkAttachment{{Network: "shop_default", Aliases: []string{name}}}
		if !reflect.DeepEqual(nets, wantNets) {
			t.Errorf("%s networks = %+v, want %+v", name, nets, wantNets)
		}
	}
	if len(d.Volumes) != 0 || len(d.ExternalNetworks) != 0 || len(d.ExternalVolumes) != 0 {
		t.Errorf("unexpected volumes/externals: %+v", d)
	}
}

func TestDesired_Networks(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web:
    image: web
    networks:
      front:
        priority: 10
      back:
        priority: 100
        aliases: [www, site]
        ipv4_address: 172.28.0.10
  api:
    image: api
    networks: [back, edge]
  db:
    image: db
    networks: [back]
networks:
  front:
    driver: bridge
    labels: {team: web}
    driver_opts: {com.docker.network.bridge.name: br-front}
  back:
    internal: true
    attachable: true
    ipam:
      config: [{subnet: 172.28.0.0/16}]
  edge:
    external: true
    name: proxy-edge
  unused: {}
`)
	d := mustDesired(t, st, 1)
	var names []string
	for _, n := range d.Networks {
		names = append(names, n.Name)
	}
	if !reflect.DeepEqual(names, []string{"shop_back", "shop_front"}) {
		t.Errorf("networks = %v, want [shop_back shop_front] (used, not external, by key)", names)
	}
	if !reflect.DeepEqual(d.ExternalNetworks, []string{"proxy-edge"}) {
		t.Errorf("ExternalNetworks = %v, want [proxy-edge]", d.ExternalNetworks)
	}
	for _, n := range d.Networks {
		switch n.Name {
		case "shop_front":
			if n.Driver != "bridge" || n.Labels["team"] != "web" || n.Labels[LabelNetwork] != "front" || n.Labels[LabelProject] != "shop" {
				t.Errorf("front = %+v", n)
			}
			if n.Options["com.docker.network.bridge.name"] != "br-front" {
				t.Errorf("front options = %v", n.Options)
			}
		case "shop_back":
			if !n.Internal || !n.Attachable || n.Labels[LabelNetwork] != "back" || n.Labels[LabelStack] != "shop" || n.Labels[LabelVersion] != ComposeVersion {
				t.Errorf("back = %+v", n)
			}
		}
	}
	web := service(t, d, "web").Template.Networks
	wantWeb := []engine.NetworkAttachment{
		{Network: "shop_back", Aliases: []string{"web", "www", "site"}, IPv4Address: "172.28.0.10"},
		{Network: "shop_front", Aliases: []string{"web"}},
	}
	if !reflect.DeepEqual(web, wantWeb) {
		t.Errorf("web networks = %+v, want %+v (higher priority first)", web, wantWeb)
	}
	api := service(t, d, "api").Template.Networks
	wantAPI := []engine.NetworkAttachment{
		{Network: "shop_back", Aliases: []string{"api"}},
		{Network: "proxy-edge", Aliases: []string{"api"}},
	}
	if !reflect.DeepEqual(api, wantAPI) {
		t.Errorf("api networks = %+v, want %+v (same priority: by key)", api, wantAPI)
	}
}

func TestDesired_NetworkNames(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web:
    image: web
    networks: [front, outside]
    volumes: [cache:/cache, data:/data]
networks:
  front: {name: my-front}
  outside: {external: true}
volumes:
  cache: {external: true}
  data: {name: my-data}
`)
	d := mustDesired(t, st, 1)
	if len(d.Networks) != 1 || d.Networks[0].Name != "my-front" || d.Networks[0].Labels[LabelNetwork] != "front" {
		t.Errorf("Networks = %+v, want my-front labelled with key front", d.Networks)
	}
	if want := []string{"outside"}; !reflect.DeepEqual(d.ExternalNetworks, want) {
		t.Errorf("ExternalNetworks = %v, want %v (an external network without name: keeps its key)", d.ExternalNetworks, want)
	}
	if want := []string{"cache"}; !reflect.DeepEqual(d.ExternalVolumes, want) {
		t.Errorf("ExternalVolumes = %v, want %v", d.ExternalVolumes, want)
	}
	if len(d.Volumes) != 1 || d.Volumes[0].Name != "my-data" {
		t.Errorf("Volumes = %+v, want my-data", d.Volumes)
	}
	c := service(t, d, "web").Template
	var nets, sources []string
	for _, n := range c.Networks {
		nets = append(nets, n.Network)
	}
	for _, m := range c.Mounts {
		sources = append(sources, m.Source)
	}
	if want := []string{"my-front", "outside"}; !reflect.DeepEqual(nets, want) {
		t.Errorf("container networks = %v, want %v", nets, want)
	}
	if want := []string{"cache", "my-data"}; !reflect.DeepEqual(sources, want) {
		t.Errorf("mount sources = %v, want %v", sources, want)
	}
}

func TestDesired_NetworkMode(t *testing.T) {
	tests := []struct {
		desc    string
		mode    string
		wantErr string
	}{
		{desc: "host", mode: "host"},
		{desc: "none", mode: "none"},
		{desc: "bridge", mode: "bridge"},
		{desc: "unsupported", mode: "macvlan0", wantErr: "services.web.network_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st := loadYAML(t, "name: shop\nservices:\n  web:\n    image: web\n    network_mode: "+tt.mode+"\n")
			d, err := st.Desired(1, imagesFor(st))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("no error")
				}
				wantErrContains(t, err, tt.wantErr, tt.mode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := service(t, d, "web").Template
			if c.NetworkMode != tt.mode || len(c.Networks) != 0 {
				t.Errorf("NetworkMode %q networks %+v, want %q and none", c.NetworkMode, c.Networks, tt.mode)
			}
			if len(d.Networks) != 0 {
				t.Errorf("Networks = %+v, want none: no service uses a project network", d.Networks)
			}
		})
	}
}

func TestDesired_Volumes(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", `
name: shop
services:
  db:
    image: postgres:16
    volumes:
      - data:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d:ro
      - type: tmpfs
        target: /run
      - backups:/backups
      - /cache
volumes:
  data:
    driver: local
    driver_opts: {type: none}
    labels: {backup: daily}
  backups:
    external: true
    name: shared-backups
  unused: {}
`)
	st := mustLoad(t, LoadOptions{Files: []string{f}})
	d := mustDesired(t, st, 1)
	wantVolumes := []engine.VolumeSpec{{
		Name:    "shop_data",
		Driver:  "local",
		Options: map[string]string{"type": "none"},
		Labels: map[string]string{
			"backup": "daily", LabelProject: "shop", LabelVolume: "data", LabelVersion: ComposeVersion, LabelStack: "shop",
		},
	}}
	if !reflect.DeepEqual(d.Volumes, wantVolumes) {
		t.Errorf("Volumes = %+v, want %+v", d.Volumes, wantVolumes)
	}
	if !reflect.DeepEqual(d.ExternalVolumes, []string{"shared-backups"}) {
		t.Errorf("ExternalVolumes = %v, want [shared-backups]", d.ExternalVolumes)
	}
	wantMounts := []engine.Mount{
		{Type: "volume", Source: "shop_data", Target: "/var/lib/postgresql/data"},
		{Type: "bind", Source: filepath.Join(dir, "init"), Target: "/docker-entrypoint-initdb.d", ReadOnly: true},
		{Type: "tmpfs", Target: "/run"},
		{Type: "volume", Source: "shared-backups", Target: "/backups"},
		{Type: "volume", Target: "/cache"},
	}
	if got := service(t, d, "db").Template.Mounts; !reflect.DeepEqual(got, wantMounts) {
		t.Errorf("mounts = %+v, want %+v", got, wantMounts)
	}
}

func TestDesired_UnsupportedVolumeType(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web:
    image: web
    volumes:
      - type: npipe
        source: //./pipe/docker_engine
        target: /pipe
`)
	_, err := st.Desired(1, imagesFor(st))
	if err == nil {
		t.Fatal("no error for an npipe mount")
	}
	wantErrContains(t, err, "services.web.volumes", "npipe")
}

func TestDesired_VolumeExplicitName(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  db:\n    image: db\n    volumes: [data:/data]\nvolumes:\n  data:\n    name: pgdata\n")
	d := mustDesired(t, st, 1)
	if len(d.Volumes) != 1 || d.Volumes[0].Name != "pgdata" || d.Volumes[0].Labels[LabelVolume] != "data" {
		t.Errorf("Volumes = %+v, want pgdata labelled with key data", d.Volumes)
	}
	if m := service(t, d, "db").Template.Mounts; len(m) != 1 || m[0].Source != "pgdata" {
		t.Errorf("mounts = %+v, want source pgdata", m)
	}
}

func TestDesired_ContainerSpec(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web:
    image: myorg/web:1.4.2
    command: ["serve", "--port", "80"]
    entrypoint: /app
    environment:
      ZED: last
      ALPHA: first
      MIDDLE: "with spaces = and equals"
      EMPTY: ""
    working_dir: /srv
    user: "1000:1000"
    hostname: web-host
    stop_signal: SIGINT
    stop_grace_period: 45s
    init: true
    read_only: true
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    extra_hosts: ["db.local:10.0.0.5", "api.local=10.0.0.6"]
    tmpfs: ["/tmp:size=64m", "/run"]
    mem_limit: 256m
    cpus: 0.5
    logging:
      driver: json-file
      options: {max-size: 10m}
    ports:
      - "8080:80"
      - "127.0.0.1:9090:9090/udp"
      - "3000"
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 5s
      timeout: 2s
      start_period: 10s
      retries: 3
  shellcmd:
    image: sh
    command: run --fast "two words"
    healthcheck:
      disable: true
  shellhealth:
    image: sh
    healthcheck:
      test: curl -fsS http://localhost/healthz
`)
	d := mustDesired(t, st, 1)
	c := service(t, d, "web").Template
	checks := []struct {
		desc      string
		got, want any
	}{
		{"command", c.Command, []string{"serve", "--port", "80"}},
		{"entrypoint", c.Entrypoint, []string{"/app"}},
		{"env sorted KEY=VALUE", c.Env, []string{"ALPHA=first", "EMPTY=", "MIDDLE=with spaces = and equals", "ZED=last"}},
		{"working_dir", c.WorkingDir, "/srv"},
		{"user", c.User, "1000:1000"},
		{"hostname", c.Hostname, "web-host"},
		{"stop_signal", c.StopSignal, "SIGINT"},
		{"init", c.Init != nil && *c.Init, true},
		{"read_only", c.ReadOnly, true},
		{"cap_add", c.CapAdd, []string{"NET_ADMIN"}},
		{"cap_drop", c.CapDrop, []string{"ALL"}},
		{"extra_hosts", c.ExtraHosts, []string{"api.local:10.0.0.6", "db.local:10.0.0.5"}},
		{"tmpfs", c.Tmpfs, map[string]string{"/tmp": "size=64m", "/run": ""}},
		{"mem_limit", c.MemoryBytes, int64(256 << 20)},
		{"cpus", c.NanoCPUs, int64(5e8)},
		{"log driver", c.LogDriver, "json-file"},
		{"log options", c.LogOptions, map[string]string{"max-size": "10m"}},
		{"ports", c.Ports, []engine.PortBinding{
			{ContainerPort: 80, Protocol: "tcp", HostPort: "8080"},
			{ContainerPort: 9090, Protocol: "udp", HostIP: "127.0.0.1", HostPort: "9090"},
			{ContainerPort: 3000, Protocol: "tcp"},
		}},
		{"healthcheck", c.Healthcheck, &engine.Healthcheck{
			Test: []string{"CMD", "/app", "health"}, Interval: 5 * time.Second, Timeout: 2 * time.Second,
			StartPeriod: 10 * time.Second, Retries: 3,
		}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.desc, ch.got, ch.want)
		}
	}
	if c.StopTimeout == nil || *c.StopTimeout != 45*time.Second {
		t.Errorf("StopTimeout = %v, want 45s from stop_grace_period", c.StopTimeout)
	}

	sh := service(t, d, "shellcmd").Template
	if want := []string{"run", "--fast", "two words"}; !reflect.DeepEqual(sh.Command, want) {
		t.Errorf("string command = %q, want %q", sh.Command, want)
	}
	if sh.Entrypoint != nil || sh.StopTimeout != nil || len(sh.Env) != 0 || sh.Ports != nil {
		t.Errorf("unset fields: entrypoint %v, stop timeout %v, env %#v, ports %v", sh.Entrypoint, sh.StopTimeout, sh.Env, sh.Ports)
	}
	if want := (&engine.Healthcheck{Test: []string{"NONE"}}); !reflect.DeepEqual(sh.Healthcheck, want) {
		t.Errorf("disabled healthcheck = %+v, want %+v", sh.Healthcheck, want)
	}
	hc := service(t, d, "shellhealth").Template.Healthcheck
	if want := []string{"CMD-SHELL", "curl -fsS http://localhost/healthz"}; hc == nil || !reflect.DeepEqual(hc.Test, want) {
		t.Errorf("string healthcheck = %+v, want test %q", hc, want)
	}
}

func TestDesired_NoHealthcheck(t *testing.T) {
	d := mustDesired(t, loadYAML(t, "name: shop\nservices:\n  web: {image: web}\n"), 1)
	c := service(t, d, "web").Template
	if c.Healthcheck != nil {
		t.Errorf("healthcheck = %+v, want nil (the image's own)", c.Healthcheck)
	}
	if c.Command != nil || c.Entrypoint != nil {
		t.Errorf("command %v entrypoint %v, want nil (the image's own)", c.Command, c.Entrypoint)
	}
}

func TestDesired_EnvironmentSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "web.env", "FROM_FILE=1\nSHARED=file\n")
	f := writeFile(t, dir, "compose.yaml", `
name: shop
services:
  web:
    image: web
    env_file: [web.env]
    environment:
      - SHARED=inline
      - PASSED_THROUGH
      - UNSET_IN_ENV
`)
	st := mustLoad(t, LoadOptions{Files: []string{f}, Env: []string{"PASSED_THROUGH=from-os"}})
	got := service(t, mustDesired(t, st, 1), "web").Template.Env
	want := []string{"FROM_FILE=1", "PASSED_THROUGH=from-os", "SHARED=inline"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env = %q, want %q (env_file, inline wins, pass-through, unset dropped)", got, want)
	}
}

func TestDesired_DeployResources(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web:
    image: web
    deploy:
      resources:
        limits: {memory: 512m, cpus: "1.5"}
`)
	c := service(t, mustDesired(t, st, 1), "web").Template
	if c.MemoryBytes != 512<<20 || c.NanoCPUs != 1.5e9 {
		t.Errorf("memory %d cpus %d, want deploy limits 512m and 1.5", c.MemoryBytes, c.NanoCPUs)
	}
}

func TestDesired_RestartPolicy(t *testing.T) {
	tests := []struct {
		desc    string
		yaml    string // service body after image
		want    engine.RestartPolicy
		wantErr string
	}{
		{desc: "unset", want: engine.RestartPolicy{Name: "no"}},
		{desc: "no", yaml: `restart: "no"`, want: engine.RestartPolicy{Name: "no"}},
		{desc: "always", yaml: "restart: always", want: engine.RestartPolicy{Name: "always"}},
		{desc: "unless-stopped", yaml: "restart: unless-stopped", want: engine.RestartPolicy{Name: "unless-stopped"}},
		{desc: "on-failure", yaml: "restart: on-failure", want: engine.RestartPolicy{Name: "on-failure"}},
		{desc: "on-failure:3", yaml: "restart: on-failure:3", want: engine.RestartPolicy{Name: "on-failure", MaxRetries: 3}},
		{desc: "deploy any", yaml: "deploy: {restart_policy: {condition: any}}", want: engine.RestartPolicy{Name: "always"}},
		{desc: "deploy without condition", yaml: "deploy: {restart_policy: {delay: 5s}}", want: engine.RestartPolicy{Name: "always"}},
		{desc: "deploy on-failure", yaml: "deploy: {restart_policy: {condition: on-failure, max_attempts: 5}}", want: engine.RestartPolicy{Name: "on-failure", MaxRetries: 5}},
		{desc: "deploy none", yaml: "deploy: {restart_policy: {condition: none}}", want: engine.RestartPolicy{Name: "no"}},
		{desc: "restart wins over deploy", yaml: "restart: unless-stopped\n    deploy: {restart_policy: {condition: none}}", want: engine.RestartPolicy{Name: "unless-stopped"}},
		{desc: "bad retry count", yaml: "restart: on-failure:many", wantErr: "services.web.restart"},
		{desc: "unknown policy", yaml: "restart: sometimes", wantErr: "services.web.restart"},
		{desc: "unknown deploy condition", yaml: "deploy: {restart_policy: {condition: often}}", wantErr: "often"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web:\n    image: web\n    "+tt.yaml+"\n")
			st, err := Load(context.Background(), LoadOptions{Files: []string{f}, Env: noEnv})
			if err == nil {
				var d strategies.Desired
				d, err = st.Desired(1, imagesFor(st))
				if err == nil {
					if tt.wantErr != "" {
						t.Fatalf("no error, restart = %+v", service(t, d, "web").Template.Restart)
					}
					if got := service(t, d, "web").Template.Restart; got != tt.want {
						t.Errorf("restart = %+v, want %+v", got, tt.want)
					}
					return
				}
			}
			if tt.wantErr == "" {
				t.Fatal(err)
			}
			wantErrContains(t, err, tt.wantErr)
		})
	}
}

func TestDesired_Replicas(t *testing.T) {
	tests := []struct {
		desc string
		yaml string
		want int
	}{
		{desc: "default", want: 1},
		{desc: "deploy.replicas", yaml: "deploy: {replicas: 4}", want: 4},
		{desc: "scale", yaml: "scale: 3", want: 3},
		{desc: "zero", yaml: "deploy: {replicas: 0}", want: 0},
		{desc: "scale and deploy.replicas agree", yaml: "scale: 2\n    deploy: {replicas: 2}", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st := loadYAML(t, "name: shop\nservices:\n  web:\n    image: web\n    "+tt.yaml+"\n")
			if got := service(t, mustDesired(t, st, 1), "web").Replicas; got != tt.want {
				t.Errorf("replicas = %d, want %d", got, tt.want)
			}
		})
	}
}
