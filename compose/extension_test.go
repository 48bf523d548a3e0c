package compose

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/internal/notify"
	"github.com/cutover/cutover/strategies"
)

func dur(d time.Duration) *types.Duration {
	td := types.Duration(d)
	return &td
}

func TestLoad_ExtensionDecode(t *testing.T) {
	st := loadYAML(t, `
name: shop
x-cutover:
  strategy: bluegreen
  router: proxy
  auto_confirm: 5m
  health_timeout: 90s
  min_ready: 3s
  notify:
    slack: https://hooks.slack.com/services/T/B/X
    webhook: https://example.com/hook
    email: ops@example.com
services:
  web:
    image: myorg/web:1.4.2
    x-cutover:
      route: {port: 80, health: /healthz, listen: ":8080", host: web.example.com}
      watch: {tags: "semver:^1.4"}
      health_timeout: 30s
      min_ready: 500ms
  db:
    image: postgres:16
    x-cutover:
      shared: true
  worker:
    image: myorg/worker:1.4.2
`)
	wantStack := StackExtension{
		Strategy:      StrategyBlueGreen,
		Router:        RouterProxy,
		AutoConfirm:   dur(5 * time.Minute),
		HealthTimeout: dur(90 * time.Second),
		MinReady:      dur(3 * time.Second),
		Notify: &Notify{
			Slack:   &notify.SlackConfig{URL: "https://hooks.slack.com/services/T/B/X"},
			Webhook: &notify.WebhookConfig{URL: "https://example.com/hook"},
			Email:   &notify.EmailConfig{To: []string{"ops@example.com"}},
		},
	}
	if !reflect.DeepEqual(st.Ext, wantStack) {
		t.Errorf("stack x-cutover = %+v, want %+v", st.Ext, wantStack)
	}
	wantServices := map[string]ServiceExtension{
		"web": {
			Route:         &Route{Port: 80, Health: "/healthz", Listen: ":8080", Host: "web.example.com"},
			Watch:         &Watch{Tags: "semver:^1.4"},
			HealthTimeout: dur(30 * time.Second),
			MinReady:      dur(500 * time.Millisecond),
		},
		"db":     {Shared: true},
		"worker": {},
	}
	if !reflect.DeepEqual(st.Services, wantServices) {
		t.Errorf("service x-cutover = %+v, want %+v", st.Services, wantServices)
	}
}

func TestLoad_ExtensionAbsent(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  web: {image: web}\n")
	if !reflect.DeepEqual(st.Ext, StackExtension{}) {
		t.Errorf("stack x-cutover = %+v, want zero", st.Ext)
	}
	if ext, ok := st.Services["web"]; !ok || !reflect.DeepEqual(ext, ServiceExtension{}) {
		t.Errorf("services[web] = %+v (present %v), want a zero block", ext, ok)
	}
}

func TestLoad_ExtensionInterpolation(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "compose.yaml", `
name: shop
x-cutover:
  strategy: ${STRATEGY:-rolling}
services:
  web:
    image: web
    x-cutover:
      route: {health: "${HEALTH_PATH:-/healthz}"}
      watch: {tags: "${WATCH}"}
`)
	writeFile(t, dir, ".env", "WATCH=glob:v1.*\n")
	st := mustLoad(t, LoadOptions{Files: []string{f}, Env: []string{"HEALTH_PATH=/ready"}})
	if st.Ext.Strategy != StrategyRolling {
		t.Errorf("strategy = %q, want rolling", st.Ext.Strategy)
	}
	web := st.Services["web"]
	if web.Route == nil || web.Route.Health != "/ready" {
		t.Errorf("route = %+v, want health /ready", web.Route)
	}
	if web.Watch == nil || web.Watch.Tags != "glob:v1.*" {
		t.Errorf("watch = %+v, want tags glob:v1.* from .env", web.Watch)
	}
}

// An override file's x-cutover merges into the base file's.
func TestLoad_ExtensionOverride(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base.yaml", `
name: shop
x-cutover: {strategy: rolling}
services:
  web:
    image: web
    x-cutover:
      route: {port: 80}
`)
	override := writeFile(t, dir, "override.yaml", `
x-cutover: {router: nginx}
services:
  web:
    x-cutover:
      route: {health: /healthz}
`)
	st := mustLoad(t, LoadOptions{Files: []string{base, override}})
	if st.Ext.Strategy != StrategyRolling || st.Ext.Router != RouterNginx {
		t.Errorf("stack x-cutover = %+v, want strategy rolling and router nginx", st.Ext)
	}
	if r := st.Services["web"].Route; r == nil || r.Port != 80 || r.Health != "/healthz" {
		t.Errorf("route = %+v, want port 80 and health /healthz", r)
	}
}

func TestDesired_ReadyPolicy(t *testing.T) {
	tests := []struct {
		desc    string
		stack   string // stack x-cutover body
		service string // web's x-cutover body
		want    strategies.ReadyPolicy
	}{
		{
			desc: "defaults",
			want: strategies.ReadyPolicy{HealthTimeout: DefaultHealthTimeout, MinReady: DefaultMinReady},
		},
		{
			desc:  "stack level overrides the defaults",
			stack: "{health_timeout: 45s, min_ready: 5s}",
			want:  strategies.ReadyPolicy{HealthTimeout: 45 * time.Second, MinReady: 5 * time.Second},
		},
		{
			desc:    "service level overrides the defaults",
			service: "{health_timeout: 1m30s, min_ready: 250ms}",
			want:    strategies.ReadyPolicy{HealthTimeout: 90 * time.Second, MinReady: 250 * time.Millisecond},
		},
		{
			desc:    "service level overrides the stack level",
			stack:   "{health_timeout: 45s, min_ready: 5s}",
			service: "{health_timeout: 10s, min_ready: 1s}",
			want:    strategies.ReadyPolicy{HealthTimeout: 10 * time.Second, MinReady: time.Second},
		},
		{
			desc:    "each field falls back on its own",
			stack:   "{min_ready: 5s}",
			service: "{health_timeout: 10s}",
			want:    strategies.ReadyPolicy{HealthTimeout: 10 * time.Second, MinReady: 5 * time.Second},
		},
		{
			desc:    "zero is a value, not absent",
			stack:   "{min_ready: 5s}",
			service: "{min_ready: 0s}",
			want:    strategies.ReadyPolicy{HealthTimeout: DefaultHealthTimeout, MinReady: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			y := "name: shop\n"
			if tt.stack != "" {
				y += "x-cutover: " + tt.stack + "\n"
			}
			y += "services:\n  web:\n    image: web\n"
			if tt.service != "" {
				y += "    x-cutover: " + tt.service + "\n"
			}
			y += "  other:\n    image: other\n"
			d := mustDesired(t, loadYAML(t, y), 1)
			if got := service(t, d, "web").Ready; got != tt.want {
				t.Errorf("web Ready = %+v, want %+v", got, tt.want)
			}
			// A service without a block gets the stack's values or the defaults.
			wantOther := strategies.ReadyPolicy{HealthTimeout: DefaultHealthTimeout, MinReady: DefaultMinReady}
			if strings.Contains(tt.stack, "health_timeout: 45s") {
				wantOther.HealthTimeout = 45 * time.Second
			}
			if strings.Contains(tt.stack, "min_ready: 5s") {
				wantOther.MinReady = 5 * time.Second
			}
			if got := service(t, d, "other").Ready; got != wantOther {
				t.Errorf("other Ready = %+v, want %+v", got, wantOther)
			}
		})
	}
}

func TestLoad_ExtensionErrors(t *testing.T) {
	tests := []struct {
		desc     string
		stack    string // stack x-cutover body, "" for none
		service  string // web's x-cutover body, "" for none
		override string // an override file's content, "" for none
		want     []string
	}{
		{
			desc:    "unknown service key",
			service: "{rout: {port: 80}}",
			want:    []string{"stack.yaml", "services.web.x-cutover.rout", "unknown field"},
		},
		{
			desc:    "unknown route key",
			service: "{route: {prot: 80}}",
			want:    []string{"stack.yaml", "services.web.x-cutover.route.prot"},
		},
		{
			desc:    "unknown watch key",
			service: "{watch: {tag: v1}}",
			want:    []string{"stack.yaml", "services.web.x-cutover.watch.tag"},
		},
		{
			desc:  "unknown stack key",
			stack: "{stratgy: rolling}",
			want:  []string{"stack.yaml", "x-cutover.stratgy"},
		},
		{
			desc:  "unknown notify key",
			stack: "{notify: {slak: https://example.com}}",
			want:  []string{"stack.yaml", "x-cutover.notify.slak"},
		},
		{
			desc:     "unknown key in the override names the override",
			override: "services:\n  web:\n    x-cutover: {shard: true}\n",
			want:     []string{"override.yaml", "services.web.x-cutover.shard"},
		},
		{
			desc:  "a word where a number goes",
			stack: "{rolling: {batch_size: two}}",
			want:  []string{"stack.yaml", `x-cutover.rolling.batch_size: want a whole number, got "two"`},
		},
		{
			desc:    "a list where a mapping goes",
			service: "{route: [80]}",
			want:    []string{"stack.yaml", "services.web.x-cutover.route: expected a map"},
		},
		{
			desc:  "a block that is not a mapping",
			stack: "rolling",
			want:  []string{"stack.yaml", `x-cutover: must be a mapping, got "rolling"`},
		},
		{
			desc:  "invalid strategy",
			stack: "{strategy: blue-green}",
			want:  []string{"stack.yaml", "x-cutover.strategy", `"blue-green"`},
		},
		{
			desc:  "invalid router",
			stack: "{router: traefik}",
			want:  []string{"stack.yaml", "x-cutover.router", `"traefik"`},
		},
		{
			desc:    "route.port above 65535",
			service: "{route: {port: 70000}}",
			want:    []string{"stack.yaml", "services.web.x-cutover.route.port", "70000"},
		},
		{
			desc:    "negative route.port",
			service: "{route: {port: -1}}",
			want:    []string{"stack.yaml", "services.web.x-cutover.route.port", "-1"},
		},
		{
			desc:    "route.health without a leading slash",
			service: "{route: {health: healthz}}",
			want:    []string{"stack.yaml", "services.web.x-cutover.route.health", `"healthz"`},
		},
		{
			desc:  "negative stack health_timeout",
			stack: "{health_timeout: -5s}",
			want:  []string{"stack.yaml", "x-cutover.health_timeout"},
		},
		{
			desc:    "negative service min_ready",
			service: "{min_ready: -1s}",
			want:    []string{"stack.yaml", "services.web.x-cutover.min_ready"},
		},
		{
			desc:    "unparsable duration",
			service: "{health_timeout: soon}",
			want:    []string{"stack.yaml", "services.web.x-cutover", "soon"},
		},
		{
			desc:    "route.port of the wrong type",
			service: "{route: {port: eighty}}",
			want:    []string{"stack.yaml", "services.web.x-cutover", "eighty"},
		},
		{
			desc:    "service block is not a mapping",
			service: "rolling",
			want:    []string{"stack.yaml", "services.web.x-cutover", "mapping"},
		},
		{
			desc:  "canary without steps",
			stack: "{strategy: canary, canary: {steps: []}}",
			want:  []string{"stack.yaml", "x-cutover.canary.steps", "at least one step"},
		},
		{
			desc:  "canary weight above 100",
			stack: "{canary: {steps: [{weight: 10, pause: 1m}, {weight: 150}]}}",
			want:  []string{"stack.yaml", "x-cutover.canary.steps[1].weight", "150"},
		},
		{
			desc:  "canary weights shrink",
			stack: "{canary: {steps: [{weight: 50}, {weight: 10}]}}",
			want:  []string{"x-cutover.canary.steps[1].weight", "only grow"},
		},
		{
			desc:  "unknown canary step key",
			stack: "{canary: {steps: [{weight: 10, pasue: 1m}]}}",
			want:  []string{"stack.yaml", "x-cutover.canary.steps[0].pasue", "unknown field"},
		},
		{
			desc:  "sticky with both cookie and header",
			stack: "{canary: {steps: [{weight: 10}], sticky: {cookie: v, header: X-User}}}",
			want:  []string{"x-cutover.canary.sticky", "either cookie"},
		},
		{
			desc:  "stack block is not a mapping",
			stack: "[bluegreen]",
			want:  []string{"stack.yaml", "x-cutover", "mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			y := "name: shop\n"
			if tt.stack != "" {
				y += "x-cutover: " + tt.stack + "\n"
			}
			y += "services:\n  web:\n    image: web\n"
			if tt.service != "" {
				y += "    x-cutover: " + tt.service + "\n"
			}
			dir := t.TempDir()
			files := []string{writeFile(t, dir, "stack.yaml", y)}
			if tt.override != "" {
				files = append(files, writeFile(t, dir, "override.yaml", tt.override))
			}
			err := loadErr(t, LoadOptions{Files: files})
			wantErrContains(t, err, tt.want...)
		})
	}
}

// Every strategy and router name cutover documents is accepted.
func TestLoad_ExtensionKnownValues(t *testing.T) {
	for _, strategy := range []string{StrategyRecreate, StrategyRolling, StrategyBlueGreen, StrategyCanary} {
		for _, router := range []string{RouterProxy, RouterNginx, RouterDNS, RouterNone} {
			st := loadYAML(t, "name: shop\nx-cutover: {strategy: "+strategy+", router: "+router+"}\nservices:\n  web: {image: web}\n")
			if st.Ext.Strategy != strategy || st.Ext.Router != router {
				t.Errorf("x-cutover = %+v, want strategy %s router %s", st.Ext, strategy, router)
			}
		}
	}
}

// Other x- extensions are the user's business and load untouched.
func TestLoad_OtherExtensionsIgnored(t *testing.T) {
	st := loadYAML(t, `
name: shop
x-defaults: &defaults
  restart: always
x-cutover-notes: {anything: goes}
services:
  web:
    <<: *defaults
    image: web
    x-team: payments
    x-cutover: {shared: true}
`)
	if !st.Services["web"].Shared {
		t.Error("shared not decoded next to other extensions")
	}
	if st.Project.Services["web"].Restart != "always" {
		t.Errorf("restart = %q, want always from the YAML merge key", st.Project.Services["web"].Restart)
	}
}
