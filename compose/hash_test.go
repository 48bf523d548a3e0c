package compose

import (
	"strings"
	"testing"
)

// webHash loads a stack whose web service has body (indented service keys
// after image) and returns web's config-hash label and Service.Hash.
func webHash(t *testing.T, top, body string, img ResolvedImage, release int) (configHash, hash string) {
	t.Helper()
	y := "name: shop\n" + top + "services:\n  web:\n    image: myorg/web:1.0\n"
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if line != "" {
			y += "    " + line + "\n"
		}
	}
	y += "  db:\n    image: postgres:16\n"
	st := loadYAML(t, y)
	images := imagesFor(st)
	images["web"] = img
	d, err := st.Desired(release, images)
	if err != nil {
		t.Fatal(err)
	}
	web := service(t, d, "web")
	return web.Template.Labels[LabelConfigHash], ContainerHash(web.Container(1).Labels)
}

var webImage = ResolvedImage{Ref: "myorg/web:1.0", ID: "sha256:1111"}

func TestConfigHash_StableAcrossLoads(t *testing.T) {
	body := `
environment: [A=1, B=2]
ports: ["8080:80"]
labels: {team: web}
healthcheck: {test: ["CMD", "/app", "health"], interval: 5s}
volumes: [data:/data]
`
	top := "volumes:\n  data: {}\n"
	c1, h1 := webHash(t, top, body, webImage, 1)
	for i := 0; i < 5; i++ {
		c2, h2 := webHash(t, top, body, webImage, 1)
		if c1 != c2 || h1 != h2 {
			t.Fatalf("hash changed between loads of the same file: %s/%s then %s/%s", c1, h1, c2, h2)
		}
	}
	if c1 == "" || h1 == "" {
		t.Fatal("empty hash")
	}
}

func TestConfigHash(t *testing.T) {
	tests := []struct {
		desc          string
		top, topAfter string // top-level YAML before services
		before, after string // web's service keys after image
		img           ResolvedImage
		release       int
		changes       bool // Service.Hash (what the planner compares) changes
		configChanges bool // the config-hash label changes
	}{
		{desc: "nothing changes", before: "environment: [A=1]", after: "environment: [A=1]"},
		{
			desc: "image ref", img: ResolvedImage{Ref: "myorg/web:2.0", ID: webImage.ID},
			changes: true, configChanges: true,
		},
		{
			desc: "image pinned to a digest", img: ResolvedImage{Ref: "myorg/web@sha256:abcd", ID: webImage.ID},
			changes: true, configChanges: true,
		},
		{
			desc: "image ID only (same tag, new build)", img: ResolvedImage{Ref: webImage.Ref, ID: "sha256:2222"},
			changes: true,
		},
		{desc: "environment value", before: "environment: [A=1]", after: "environment: [A=2]", changes: true, configChanges: true},
		{desc: "environment added", before: "environment: [A=1]", after: "environment: [A=1, B=1]", changes: true, configChanges: true},
		{desc: "environment order", before: "environment: [A=1, B=1]", after: "environment: [B=1, A=1]"},
		{desc: "ports", before: `ports: ["8080:80"]`, after: `ports: ["8081:80"]`, changes: true, configChanges: true},
		{desc: "command", before: "command: [a]", after: "command: [b]", changes: true, configChanges: true},
		{desc: "labels", before: "labels: {a: b}", after: "labels: {a: c}", changes: true, configChanges: true},
		{desc: "healthcheck", before: "healthcheck: {test: [CMD, x], interval: 5s}", after: "healthcheck: {test: [CMD, x], interval: 6s}", changes: true, configChanges: true},
		{desc: "deploy.replicas", before: "deploy: {replicas: 2}", after: "deploy: {replicas: 3}"},
		{desc: "deploy.replicas added", before: "", after: "deploy: {replicas: 3}"},
		{desc: "scale", before: "", after: "scale: 3"},
		{desc: "deploy.update_config", before: "", after: "deploy: {update_config: {parallelism: 2, order: start-first}}"},
		{desc: "deploy.rollback_config", before: "deploy: {replicas: 2}", after: "deploy: {replicas: 2, rollback_config: {parallelism: 1}}"},
		{desc: "depends_on", before: "", after: "depends_on: [db]"},
		{desc: "depends_on condition", before: "depends_on: [db]", after: "depends_on: {db: {condition: service_healthy}}"},
		{desc: "x-cutover added", before: "", after: "x-cutover: {route: {port: 80, health: /healthz}}"},
		{desc: "x-cutover changed", before: "x-cutover: {route: {port: 80}}", after: "x-cutover: {route: {port: 8080}, watch: {tags: moving}, shared: true}"},
		{desc: "stack x-cutover", topAfter: "x-cutover: {strategy: bluegreen, min_ready: 10s}\n"},
		{desc: "pull_policy", before: "", after: "pull_policy: always"},
		{desc: "build section", before: "build: {context: ., args: {V: 1}}", after: "build: {context: ., args: {V: 2}}"},
		{desc: "release number", release: 2},
		{desc: "deploy.resources", before: "", after: "deploy: {resources: {limits: {memory: 64m}}}", changes: true, configChanges: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			img := tt.img
			if img.Ref == "" {
				img = webImage
			}
			release := tt.release
			if release == 0 {
				release = 1
			}
			c1, h1 := webHash(t, tt.top, tt.before, webImage, 1)
			c2, h2 := webHash(t, tt.topAfter, tt.after, img, release)
			if (h1 != h2) != tt.changes {
				t.Errorf("Service.Hash changed = %v, want %v (%s → %s)", h1 != h2, tt.changes, h1, h2)
			}
			if (c1 != c2) != tt.configChanges {
				t.Errorf("config-hash label changed = %v, want %v", c1 != c2, tt.configChanges)
			}
		})
	}
}

// Enabling a service through a profile does not change its hash.
func TestConfigHash_Profiles(t *testing.T) {
	hash := func(profiles string, enable []string) string {
		dir := t.TempDir()
		f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web:\n    image: web\n"+profiles)
		st := mustLoad(t, LoadOptions{Files: []string{f}, Profiles: enable})
		return service(t, mustDesired(t, st, 1), "web").Hash
	}
	plain := hash("", nil)
	if withProfile := hash("    profiles: [extra]\n", []string{"extra"}); withProfile != plain {
		t.Errorf("hash with profiles = %s, without = %s; want equal", withProfile, plain)
	}
}

func TestContainerHash(t *testing.T) {
	tests := []struct {
		desc   string
		labels map[string]string
		want   string
	}{
		{desc: "no labels", labels: nil, want: ""},
		{desc: "no config hash (not ours)", labels: map[string]string{LabelImage: "sha256:1"}, want: ""},
		{desc: "config hash and image", labels: map[string]string{LabelConfigHash: "abc", LabelImage: "sha256:1"}, want: "abc/sha256:1"},
		{desc: "config hash without image", labels: map[string]string{LabelConfigHash: "abc"}, want: "abc/"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := ContainerHash(tt.labels); got != tt.want {
				t.Errorf("ContainerHash = %q, want %q", got, tt.want)
			}
		})
	}
}
