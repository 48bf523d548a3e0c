package nginx

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
)

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"shop/web":      "cutover-shop-web",
		"my_app/api.v2": "cutover-my_app-api.v2",
		"a b/../c":      "cutover-a-b-..-c",
	} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderRoute(t *testing.T) {
	st := routeState{
		Route:      lb.Route{Name: "shop/web", Listen: "0.0.0.0:8080", Host: "shop.example", DrainTimeout: time.Second},
		Generation: 7,
		Split:      &lb.Split{Stable: []string{"172.18.0.5:80"}, Canary: []string{"172.18.0.6:80"}, Weight: 10},
	}
	b, err := renderRoute(st, "/etc/nginx/cutover.d", "")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, want := range []string{
		"upstream cutover-shop-web {",
		"server 172.18.0.5:80 weight=9;",
		"server 172.18.0.6:80 weight=1;",
		"keepalive 32;",
		"listen 0.0.0.0:8080;",
		"server_name shop.example;",
		`if (-f "/etc/nginx/cutover.d/.cutover-reloading")`,
		"proxy_pass http://cutover-shop-web;",
		"proxy_http_version 1.1;",
		"proxy_set_header Connection $cutover_connection;",
		"proxy_next_upstream error timeout;",
		"add_header X-Cutover-Generation 7 always;",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("generated file lacks %q:\n%s", want, conf)
		}
	}
	back, err := parseState(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Generation != 7 || back.Route != st.Route || back.Split == nil || back.Split.Weight != 10 {
		t.Errorf("state read back = %+v, want %+v", back, st)
	}
}

func TestRenderRouteWithoutTargets(t *testing.T) {
	b, err := renderRoute(routeState{Route: lb.Route{Name: "shop/web", Listen: "[::1]:8080"}, Generation: 1}, "/d", "")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	if strings.Contains(conf, "upstream") || !strings.Contains(conf, "return 503") || !strings.Contains(conf, "listen [::1]:8080 default_server;") {
		t.Errorf("a route without targets and host:\n%s", conf)
	}
}

func TestRouteNameCannotBreakOutOfItsComment(t *testing.T) {
	st := routeState{Route: lb.Route{Name: "a\nreturn 200;\n", Listen: "127.0.0.1:1"}, Generation: 1}
	b, err := renderRoute(st, "/d", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "return 200") {
			t.Fatalf("the route name added a directive:\n%s", b)
		}
	}
}

func TestProbeAddrFromListen(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:80":     "127.0.0.1:80",
		":8080":          "127.0.0.1:8080",
		"[::]:80":        "[::1]:80",
		"10.1.2.3:443":   "10.1.2.3:443",
		"localhost:8080": "localhost:8080",
	} {
		if got := probeAddrFromListen(in); got != want {
			t.Errorf("probeAddrFromListen(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigDirMustBeQuotable(t *testing.T) {
	for _, dir := range []string{"", "/etc/nginx/my dir", `/etc/"x`, "/etc/$x", "/etc/x;y"} {
		if _, err := (Config{Dir: dir}).withDefaults(); err == nil {
			t.Errorf("Config.Dir %q accepted", dir)
		}
	}
}
