package compose

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoad_EnvFileInterpolation(t *testing.T) {
	const composeYAML = `
name: shop
services:
  web:
    image: myorg/web:${TAG}
    environment:
      GREETING: ${GREETING:-hello}
`
	tests := []struct {
		desc     string
		dotEnv   string            // ProjectDir/.env, "" for none
		envFiles map[string]string // --env-file name → content
		env      []string          // OS environment (LoadOptions.Env)
		image    string
		greeting string
	}{
		{
			desc:     ".env in the project directory interpolates",
			dotEnv:   "TAG=1.4.2\nGREETING=hi from dotenv\n",
			image:    "myorg/web:1.4.2",
			greeting: "hi from dotenv",
		},
		{
			desc:     "OS environment wins over .env",
			dotEnv:   "TAG=1.4.2\nGREETING=hi from dotenv\n",
			env:      []string{"TAG=2.0.0"},
			image:    "myorg/web:2.0.0",
			greeting: "hi from dotenv",
		},
		{
			desc:     "--env-file replaces .env entirely",
			dotEnv:   "TAG=1.4.2\nGREETING=hi from dotenv\n",
			envFiles: map[string]string{"prod.env": "TAG=3.1.0\n"},
			image:    "myorg/web:3.1.0",
			greeting: "hello", // GREETING only in .env, which is not read
		},
		{
			desc:     "several --env-file: later files win",
			envFiles: map[string]string{"a.env": "TAG=a\nGREETING=from a\n", "b.env": "TAG=b\n"},
			image:    "myorg/web:b",
			greeting: "from a",
		},
		{
			desc:     "OS environment wins over --env-file",
			envFiles: map[string]string{"prod.env": "TAG=3.1.0\n"},
			env:      []string{"TAG=4.0.0"},
			image:    "myorg/web:4.0.0",
			greeting: "hello",
		},
		{
			desc:     "${VAR:-default} uses the default when unset",
			env:      []string{"TAG=1"},
			image:    "myorg/web:1",
			greeting: "hello",
		},
		{
			desc:     "${VAR:-default} uses the default when set but empty",
			env:      []string{"TAG=1", "GREETING="},
			image:    "myorg/web:1",
			greeting: "hello",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			f := writeFile(t, dir, "compose.yaml", composeYAML)
			if tt.dotEnv != "" {
				writeFile(t, dir, ".env", tt.dotEnv)
			}
			var envFiles []string
			for _, name := range sortedKeys(tt.envFiles) {
				envFiles = append(envFiles, writeFile(t, dir, filepath.Join("env", name), tt.envFiles[name]))
			}
			env := tt.env
			if env == nil {
				env = noEnv
			}
			st := mustLoad(t, LoadOptions{Files: []string{f}, EnvFiles: envFiles, Env: env})
			web := st.Project.Services["web"]
			if web.Image != tt.image {
				t.Errorf("image = %q, want %q", web.Image, tt.image)
			}
			if g := web.Environment["GREETING"]; g == nil || *g != tt.greeting {
				t.Errorf("GREETING = %v, want %q", deref(g), tt.greeting)
			}
		})
	}
}

func TestLoad_InterpolationDefaults(t *testing.T) {
	tests := []struct {
		desc string
		expr string
		env  []string
		want string
	}{
		{desc: ":- unset", expr: "${V:-fallback}", want: "fallback"},
		{desc: ":- empty", expr: "${V:-fallback}", env: []string{"V="}, want: "fallback"},
		{desc: ":- set", expr: "${V:-fallback}", env: []string{"V=set"}, want: "set"},
		{desc: "- unset", expr: "${V-fallback}", want: "fallback"},
		{desc: "- empty keeps empty", expr: "${V-fallback}", env: []string{"V="}, want: ""},
		{desc: "plain $V", expr: "pre-$V-post", env: []string{"V=x"}, want: "pre-x-post"},
		{desc: "$$ escapes", expr: "$$HOME", want: "$HOME"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web:\n    image: web\n    environment:\n      X: \""+tt.expr+"\"\n")
			env := tt.env
			if env == nil {
				env = noEnv
			}
			st := mustLoad(t, LoadOptions{Files: []string{f}, Env: env})
			if got := deref(st.Project.Services["web"].Environment["X"]); got != tt.want {
				t.Errorf("X = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoad_MissingRequiredVariable(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web:\n    image: web:${TAG:?set TAG to the release tag}\n")
	err := loadErr(t, LoadOptions{Files: []string{f}})
	wantErrContains(t, err, "set TAG to the release tag")
}

// With LoadOptions.Env nil, the process environment is used.
func TestLoad_OSEnvironment(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web:\n    image: web:${CUTOVER_TEST_TAG:-none}\n")
	writeFile(t, dir, ".env", "CUTOVER_TEST_TAG=from-dotenv\n")
	t.Setenv("CUTOVER_TEST_TAG", "from-os")
	st, err := Load(t.Context(), LoadOptions{Files: []string{f}})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Project.Services["web"].Image; got != "web:from-os" {
		t.Errorf("image = %q, want web:from-os (the OS environment wins over .env)", got)
	}
}

func TestLoad_Profiles(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", `
name: shop
services:
  web:
    image: web
  debug:
    image: debug
    profiles: [debug]
  metrics:
    image: metrics
    profiles: [ops, monitoring]
`)
	tests := []struct {
		desc     string
		profiles []string
		env      []string
		want     []string
	}{
		{desc: "no profile: services with profiles are off", want: []string{"web"}},
		{desc: "--profile debug", profiles: []string{"debug"}, want: []string{"debug", "web"}},
		{desc: "--profile for one of several", profiles: []string{"monitoring"}, want: []string{"metrics", "web"}},
		{desc: "two --profile", profiles: []string{"debug", "ops"}, want: []string{"debug", "metrics", "web"}},
		{desc: "COMPOSE_PROFILES", env: []string{"COMPOSE_PROFILES=debug"}, want: []string{"debug", "web"}},
		{desc: "COMPOSE_PROFILES with a list", env: []string{"COMPOSE_PROFILES=debug, ops"}, want: []string{"debug", "metrics", "web"}},
		{desc: "--profile wins over COMPOSE_PROFILES", profiles: []string{"ops"}, env: []string{"COMPOSE_PROFILES=debug"}, want: []string{"metrics", "web"}},
		{desc: "--profile '*' enables all", profiles: []string{"*"}, want: []string{"debug", "metrics", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = noEnv
			}
			st := mustLoad(t, LoadOptions{Files: []string{f}, Profiles: tt.profiles, Env: env})
			if got := st.ServiceNames(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("services = %v, want %v", got, tt.want)
			}
			if got := serviceNames(mustDesired(t, st, 1)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Desired services = %v, want %v", got, tt.want)
			}
			for name := range st.Services {
				if _, ok := st.Project.Services[name]; !ok {
					t.Errorf("Stack.Services has disabled service %q", name)
				}
			}
		})
	}
}

func TestLoad_ProfilesFromDotEnv(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  web: {image: web}\n  debug: {image: debug, profiles: [debug]}\n")
	writeFile(t, dir, ".env", "COMPOSE_PROFILES=debug\n")
	st := mustLoad(t, LoadOptions{Files: []string{f}})
	if got, want := st.ServiceNames(), []string{"debug", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("services = %v, want %v (COMPOSE_PROFILES in .env)", got, want)
	}
}

const baseYAML = `
name: shop
services:
  web:
    image: myorg/web:1.0
    environment:
      A: base
      B: base
    ports: ["8080:80"]
    labels:
      tier: front
  db:
    image: postgres:16
`

const overrideYAML = `
services:
  web:
    image: myorg/web:2.0
    environment:
      B: override
      C: override
    ports: !override ["9090:80"]
`

func checkMerged(t *testing.T, st *Stack) {
	t.Helper()
	web := st.Project.Services["web"]
	if web.Image != "myorg/web:2.0" {
		t.Errorf("image = %q, want the override's myorg/web:2.0", web.Image)
	}
	wantEnv := map[string]string{"A": "base", "B": "override", "C": "override"}
	for k, want := range wantEnv {
		if got := deref(web.Environment[k]); got != want {
			t.Errorf("environment %s = %q, want %q", k, got, want)
		}
	}
	if len(web.Ports) != 1 || web.Ports[0].Published != "9090" || web.Ports[0].Target != 80 {
		t.Errorf("ports = %+v, want only 9090:80", web.Ports)
	}
	if web.Labels["tier"] != "front" {
		t.Errorf("labels = %v, want tier=front kept from the base file", web.Labels)
	}
	if _, ok := st.Project.Services["db"]; !ok {
		t.Error("db from the base file is missing")
	}
	if got := st.ConfigFiles(); len(got) != 2 || filepath.Base(got[0]) != "base.yaml" || filepath.Base(got[1]) != "override.yaml" {
		t.Errorf("ConfigFiles = %v, want base.yaml, override.yaml", got)
	}
}

func TestLoad_Overrides(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base.yaml", baseYAML)
	override := writeFile(t, dir, "override.yaml", overrideYAML)
	checkMerged(t, mustLoad(t, LoadOptions{Files: []string{base, override}}))
}

// Without !override, compose appends an override's ports to the base's.
func TestLoad_OverridePortsMerge(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base.yaml", baseYAML)
	override := writeFile(t, dir, "override.yaml", "services:\n  web:\n    ports: [\"9090:80\"]\n")
	st := mustLoad(t, LoadOptions{Files: []string{base, override}})
	var published []string
	for _, p := range st.Project.Services["web"].Ports {
		published = append(published, p.Published)
	}
	if !reflect.DeepEqual(published, []string{"8080", "9090"}) {
		t.Errorf("published ports = %v, want [8080 9090]", published)
	}
}

func TestLoad_ComposeFileEnv(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base.yaml", baseYAML)
	override := writeFile(t, dir, "override.yaml", overrideYAML)
	other := writeFile(t, dir, "other.yaml", "name: other\nservices:\n  x: {image: x}\n")

	t.Run("COMPOSE_FILE with the OS path separator", func(t *testing.T) {
		env := []string{"COMPOSE_FILE=" + base + string(os.PathListSeparator) + override}
		checkMerged(t, mustLoad(t, LoadOptions{Env: env}))
	})
	t.Run("COMPOSE_PATH_SEPARATOR", func(t *testing.T) {
		env := []string{"COMPOSE_FILE=" + base + "|" + override, "COMPOSE_PATH_SEPARATOR=|"}
		checkMerged(t, mustLoad(t, LoadOptions{Env: env}))
	})
	t.Run("COMPOSE_FILE in .env of the project directory", func(t *testing.T) {
		writeFile(t, dir, ".env", "COMPOSE_FILE="+base+string(os.PathListSeparator)+override+"\n")
		defer os.Remove(filepath.Join(dir, ".env"))
		checkMerged(t, mustLoad(t, LoadOptions{ProjectDir: dir}))
	})
	t.Run("-f wins over COMPOSE_FILE", func(t *testing.T) {
		env := []string{"COMPOSE_FILE=" + other}
		checkMerged(t, mustLoad(t, LoadOptions{Files: []string{base, override}, Env: env}))
	})
	t.Run("COMPOSE_FILE naming a missing file", func(t *testing.T) {
		missing := filepath.Join(dir, "nope.yaml")
		err := loadErr(t, LoadOptions{Env: []string{"COMPOSE_FILE=" + missing}})
		wantErrContains(t, err, "nope.yaml")
	})
}

func TestLoad_DefaultFileDiscovery(t *testing.T) {
	tests := []struct {
		desc  string
		files map[string]string
		want  []string // base names of ConfigFiles
		image string
	}{
		{
			desc:  "compose.yaml",
			files: map[string]string{"compose.yaml": "services:\n  web: {image: web:compose}\n"},
			want:  []string{"compose.yaml"},
			image: "web:compose",
		},
		{
			desc:  "docker-compose.yml",
			files: map[string]string{"docker-compose.yml": "services:\n  web: {image: web:legacy}\n"},
			want:  []string{"docker-compose.yml"},
			image: "web:legacy",
		},
		{
			desc: "compose.yaml with compose.override.yaml",
			files: map[string]string{
				"compose.yaml":          "services:\n  web: {image: web:compose}\n",
				"compose.override.yaml": "services:\n  web: {image: web:override}\n",
			},
			want:  []string{"compose.yaml", "compose.override.yaml"},
			image: "web:override",
		},
		{
			desc: "compose.yaml preferred over docker-compose.yml",
			files: map[string]string{
				"compose.yaml":       "services:\n  web: {image: web:compose}\n",
				"docker-compose.yml": "services:\n  web: {image: web:legacy}\n",
			},
			want:  []string{"compose.yaml"},
			image: "web:compose",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shop")
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			st := mustLoad(t, LoadOptions{ProjectDir: dir})
			var got []string
			for _, f := range st.ConfigFiles() {
				if filepath.Dir(f) != dir {
					t.Errorf("config file %s is not in the project directory %s", f, dir)
				}
				got = append(got, filepath.Base(f))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ConfigFiles = %v, want %v", got, tt.want)
			}
			if img := st.Project.Services["web"].Image; img != tt.image {
				t.Errorf("image = %q, want %q", img, tt.image)
			}
			if st.WorkingDir() != dir {
				t.Errorf("WorkingDir = %q, want %q", st.WorkingDir(), dir)
			}
			if st.Name != "shop" {
				t.Errorf("Name = %q, want shop (the directory's name)", st.Name)
			}
		})
	}
}

func TestLoad_NoComposeFile(t *testing.T) {
	dir := t.TempDir()
	err := loadErr(t, LoadOptions{ProjectDir: dir})
	wantErrContains(t, err, "no configuration file")
}

func TestLoad_ProjectDirDefaultsToFirstFile(t *testing.T) {
	root := t.TempDir()
	f := writeFile(t, root, "deploy/compose.yaml", "services:\n  web:\n    image: web:${TAG}\n")
	writeFile(t, root, "deploy/.env", "TAG=from-deploy-dir\n")
	st := mustLoad(t, LoadOptions{Files: []string{f}})
	if want := filepath.Join(root, "deploy"); st.WorkingDir() != want {
		t.Errorf("WorkingDir = %q, want %q", st.WorkingDir(), want)
	}
	if st.Name != "deploy" {
		t.Errorf("Name = %q, want deploy", st.Name)
	}
	if img := st.Project.Services["web"].Image; img != "web:from-deploy-dir" {
		t.Errorf("image = %q: .env next to the first file was not read", img)
	}
}

func TestLoad_ProjectName(t *testing.T) {
	tests := []struct {
		desc     string
		dirName  string
		yamlName string // name: in the file, "" for none
		flag     string // -p
		env      []string
		want     string
	}{
		{desc: "-p wins over name: and the directory", dirName: "dir", yamlName: "fromfile", flag: "fromflag", want: "fromflag"},
		{desc: "-p wins over COMPOSE_PROJECT_NAME", dirName: "dir", yamlName: "fromfile", flag: "fromflag", env: []string{"COMPOSE_PROJECT_NAME=fromenv"}, want: "fromflag"},
		{desc: "COMPOSE_PROJECT_NAME wins over name:", dirName: "dir", yamlName: "fromfile", env: []string{"COMPOSE_PROJECT_NAME=fromenv"}, want: "fromenv"},
		{desc: "name: wins over the directory", dirName: "dir", yamlName: "fromfile", want: "fromfile"},
		{desc: "directory base name", dirName: "mystack", want: "mystack"},
		{desc: "directory base name normalized", dirName: "My.Stack", want: "mystack"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.dirName)
			content := "services:\n  web: {image: web}\n"
			if tt.yamlName != "" {
				content = "name: " + tt.yamlName + "\n" + content
			}
			f := writeFile(t, dir, "compose.yaml", content)
			env := tt.env
			if env == nil {
				env = noEnv
			}
			st := mustLoad(t, LoadOptions{Files: []string{f}, ProjectName: tt.flag, Env: env})
			if st.Name != tt.want || st.Project.Name != tt.want {
				t.Errorf("Name = %q (project %q), want %q", st.Name, st.Project.Name, tt.want)
			}
			d := mustDesired(t, st, 1)
			if d.Stack != tt.want {
				t.Errorf("Desired.Stack = %q, want %q", d.Stack, tt.want)
			}
			if got := service(t, d, "web").ContainerName(1); got != tt.want+"-web-1" {
				t.Errorf("container name = %q, want %s-web-1", got, tt.want)
			}
		})
	}
}

func TestLoad_InvalidProjectName(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", "services:\n  web: {image: web}\n")
	err := loadErr(t, LoadOptions{Files: []string{f}, ProjectName: "Bad Name"})
	wantErrContains(t, err, "Bad Name")
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		desc  string
		files map[string]string // written to the directory; all of them are -f in name order
		extra []string          // further -f names that are not written
		want  []string          // the error mentions each
		not   []string          // … and none of these
	}{
		{
			desc:  "invalid YAML names the file",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: web\n   ports: [\n"},
			want:  []string{"compose.yaml"},
		},
		{
			desc: "invalid YAML in the override names the override",
			files: map[string]string{
				"a-base.yaml":     "services:\n  web: {image: web}\n",
				"b-override.yaml": "services:\n  web: {image: [unclosed\n",
			},
			want: []string{"b-override.yaml"},
			not:  []string{"a-base.yaml"},
		},
		{
			desc:  "a missing -f file",
			files: map[string]string{"compose.yaml": "services:\n  web: {image: web}\n"},
			extra: []string{"missing.yaml"},
			want:  []string{"missing.yaml"},
		},
		{
			desc:  "a service with neither image nor build",
			files: map[string]string{"compose.yaml": "name: shop\nservices:\n  web:\n    environment: [A=1]\n"},
			want:  []string{"compose.yaml", "web", "image", "build"},
		},
		{
			desc:  "container_name with several replicas",
			files: map[string]string{"compose.yaml": "name: shop\nservices:\n  web:\n    image: web\n    container_name: web\n    deploy: {replicas: 2}\n"},
			want:  []string{"compose.yaml", "container_name", "must be unique"},
		},
		{
			desc:  "an unknown compose key",
			files: map[string]string{"compose.yaml": "name: shop\nservices:\n  web:\n    image: web\n    imgae: typo\n"},
			want:  []string{"compose.yaml", "imgae"},
		},
		{
			desc:  "depends_on an unknown service",
			files: map[string]string{"compose.yaml": "name: shop\nservices:\n  web:\n    image: web\n    depends_on: [cache]\n"},
			want:  []string{"web", "cache"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			var files []string
			for _, name := range sortedKeys(tt.files) {
				files = append(files, writeFile(t, dir, name, tt.files[name]))
			}
			for _, name := range tt.extra {
				files = append(files, filepath.Join(dir, name))
			}
			err := loadErr(t, LoadOptions{Files: files})
			wantErrContains(t, err, tt.want...)
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q names %q, which is not the broken file", err, n)
				}
			}
		})
	}
}

// Errors found when compose.yaml was discovered (no -f) name the file too.
func TestLoad_ErrorsNameDiscoveredFile(t *testing.T) {
	tests := []struct {
		desc string
		yaml string
		want []string
	}{
		{desc: "invalid YAML", yaml: "services:\n  web:\n    image: web\n   ports: [\n", want: []string{"compose.yaml"}},
		{desc: "unknown x-cutover key", yaml: "services:\n  web:\n    image: web\n    x-cutover: {rout: {port: 80}}\n", want: []string{"compose.yaml", "services.web.x-cutover.rout"}},
		{desc: "neither image nor build", yaml: "services:\n  web:\n    command: [run]\n", want: []string{"compose.yaml", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "compose.yaml", tt.yaml)
			err := loadErr(t, LoadOptions{ProjectDir: dir})
			wantErrContains(t, err, tt.want...)
		})
	}
}

func TestLoad_BuildOnlyService(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app/Dockerfile", "FROM scratch\n")
	f := writeFile(t, dir, "compose.yaml", "name: shop\nservices:\n  app:\n    build: ./app\n")
	st := mustLoad(t, LoadOptions{Files: []string{f}})
	b := st.Project.Services["app"].Build
	if b == nil || b.Context != filepath.Join(dir, "app") {
		t.Fatalf("build = %+v, want context %s", b, filepath.Join(dir, "app"))
	}
	d := mustDesired(t, st, 1)
	if img := service(t, d, "app").Template.Image; img != "shop-app" {
		t.Errorf("image = %q, want shop-app", img)
	}
}

func TestStack_ServiceNamesSorted(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  zeta: {image: z}\n  alpha: {image: a}\n  mid: {image: m}\n")
	if got, want := st.ServiceNames(), []string{"alpha", "mid", "zeta"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ServiceNames = %v, want %v", got, want)
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestRelPath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(wd, "/elsewhere") {
		t.Skip("odd working directory")
	}
	tests := []struct {
		desc, in, want string
	}{
		{desc: "relative stays", in: "a/compose.yaml", want: "a/compose.yaml"},
		{desc: "under the working directory", in: filepath.Join(wd, "sub", "compose.yaml"), want: filepath.Join("sub", "compose.yaml")},
		{desc: "outside the working directory", in: "/elsewhere/compose.yaml", want: "/elsewhere/compose.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := relPath(tt.in); got != tt.want {
				t.Errorf("relPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
