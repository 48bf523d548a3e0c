package compose

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const nginxStack = `
name: shop
x-cutover:
  strategy: bluegreen
  router: nginx
  nginx:
    dir: nginx.d
    test: [docker, exec, nginx, nginx, -t]
    reload_notice: 0s
    probe_host: 127.0.0.1
services:
  web:
    image: web
    ports: ["127.0.0.1:8091:8080", "9000"]
    deploy: {replicas: 2}
    x-cutover:
      route: {port: 8080, health: /healthz, host: shop.example.com}
`

// Under router nginx a service is routed like under the proxy: nginx
// listens on the published port, the containers publish nothing for it,
// and the route says it belongs to nginx.
func TestDesiredWith_Nginx(t *testing.T) {
	st := loadYAML(t, nginxStack)
	n := st.Ext.Nginx
	if n == nil || n.DirIn(st.WorkingDir()) != filepath.Join(st.WorkingDir(), "nginx.d") || len(n.Test) != 5 ||
		n.ReloadNotice == nil || *n.ReloadNotice != 0 || n.ProbeHost != "127.0.0.1" {
		t.Fatalf("x-cutover.nginx = %+v, want the block as written, dir relative to the project", n)
	}
	d, err := st.DesiredWith(1, imagesFor(st), DesiredOptions{Router: RouterNginx, Color: "green"})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := d.RouteOf("web")
	if !ok || r.Route.Router != RouterNginx || r.Route.Listen != "127.0.0.1:8091" || r.Route.Host != "shop.example.com" || r.Port != 8080 ||
		r.Network != "shop-green_default" || len(r.Addresses) != 0 {
		t.Errorf("route = %+v, want nginx on 127.0.0.1:8091 for shop.example.com to container port 8080 on the green network", r)
	}
	ports := d.Services[0].Template.Ports
	if len(ports) != 1 || ports[0].ContainerPort != 9000 {
		t.Errorf("web publishes %+v, want only 9000 (nginx listens on 8091)", ports)
	}

	noDir := loadYAML(t, strings.Replace(nginxStack, "    dir: nginx.d\n", "", 1))
	_, err = noDir.DesiredWith(1, imagesFor(noDir), DesiredOptions{Router: RouterNginx, Color: "blue"})
	if err == nil {
		t.Fatal("router nginx without x-cutover.nginx.dir was accepted")
	}
	wantErrContains(t, err, "x-cutover.nginx.dir")
}

const dnsStack = `
name: shop
x-cutover:
  strategy: bluegreen
  router: dns
  dns: {zone: example.test., ttl: 2s, keep_old: 10s}
services:
  web:
    image: web
    ports: ["127.0.0.11:8092:8080", "9000:9000"]
    x-cutover:
      route:
        host: app.example.test
        port: 8080
        health: /healthz
        addresses: {blue: 127.0.0.11, green: 127.0.0.12}
  db:
    image: db
    x-cutover: {shared: true}
`

// Under router dns each color publishes the service's ports on its own
// address, and the route's targets are that address and the published port.
func TestDesiredWith_DNS(t *testing.T) {
	st := loadYAML(t, dnsStack)
	for color, addr := range map[string]string{"blue": "127.0.0.11", "green": "127.0.0.12"} {
		d, err := st.DesiredWith(1, imagesFor(st), DesiredOptions{Router: RouterDNS, Color: color})
		if err != nil {
			t.Fatal(err)
		}
		r, ok := d.RouteOf("web")
		if !ok || r.Route.Router != RouterDNS || r.Route.Host != "app.example.test" || r.Route.Listen != ":8092" || r.Port != 8080 ||
			r.PublishedPort != 8092 || r.Addresses["blue"] != "127.0.0.11" || r.Addresses["green"] != "127.0.0.12" || r.KeepOld != 10*time.Second {
			t.Errorf("%s: route = %+v", color, r)
		}
		var web = d.Services[0]
		for _, s := range d.Services {
			if s.Name == "web" {
				web = s
			}
		}
		for _, p := range web.Template.Ports {
			if p.HostIP != addr {
				t.Errorf("%s: web publishes %d on %q, want %s", color, p.ContainerPort, p.HostIP, addr)
			}
		}
		if len(web.Template.Ports) != 2 || len(web.FixedHostPorts) != 0 {
			t.Errorf("%s: web ports %+v, fixed %v; want both ports, on the color's address", color, web.Template.Ports, web.FixedHostPorts)
		}
		if web.Ready.Probe == nil || web.Ready.Probe.Port != 8080 || web.Ready.Probe.Path != "/healthz" {
			t.Errorf("%s: web's readiness probe = %+v, want :8080/healthz", color, web.Ready.Probe)
		}
	}
}

func TestDesiredWith_DNSRefuses(t *testing.T) {
	for _, tc := range []struct {
		desc, from, to string
		color          string
		want           []string
	}{
		{"no color (rolling)", "", "", "", []string{"x-cutover.router", "bluegreen or canary"}},
		{"several replicas", "    ports: [\"127.0.0.11:8092:8080\", \"9000:9000\"]\n", "    ports: [\"127.0.0.11:8092:8080\", \"9000:9000\"]\n    deploy: {replicas: 2}\n", "blue", []string{"services.web.deploy.replicas", "1 replica per color"}},
		{"no host", "        host: app.example.test\n", "", "blue", []string{"services.web.x-cutover.route.host"}},
		{"host outside the zone", "host: app.example.test", "host: app.other.test", "blue", []string{"route.host", "outside", "example.test."}},
		{"no addresses", "        addresses: {blue: 127.0.0.11, green: 127.0.0.12}\n", "", "blue", []string{"route.addresses"}},
		{"listen", "        health: /healthz\n", "        health: /healthz\n        listen: :8092\n", "blue", []string{"route.listen", "means nothing under router dns"}},
		{"route port not published", "        port: 8080\n", "        port: 7000\n", "blue", []string{"services.web.ports", "7000"}},
		{"shared", "    x-cutover:\n      route:", "    x-cutover:\n      shared: true\n      route:", "blue", []string{"shared"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			st := loadYAML(t, strings.Replace(dnsStack, tc.from, tc.to, 1))
			_, err := st.DesiredWith(1, imagesFor(st), DesiredOptions{Router: RouterDNS, Color: tc.color})
			if err == nil {
				t.Fatal("accepted")
			}
			wantErrContains(t, err, tc.want...)
		})
	}
}

// route.addresses belongs to router dns.
func TestDesiredWith_AddressesOnlyUnderDNS(t *testing.T) {
	st := loadYAML(t, strings.Replace(dnsStack, "router: dns", "router: proxy", 1))
	_, err := st.DesiredWith(1, imagesFor(st), DesiredOptions{Router: RouterProxy, Color: "blue"})
	if err == nil {
		t.Fatal("route.addresses under router proxy was accepted")
	}
	wantErrContains(t, err, "services.web.x-cutover.route.addresses", "only under router dns")
}

// The nginx and dns blocks are checked when the file loads; errors name
// the field.
func TestLoad_RouterBlocksChecked(t *testing.T) {
	for _, tc := range []struct {
		desc, block string
		want        []string
	}{
		{"unknown nginx key", "nginx: {dir: /x, relaod: [nginx]}", []string{"x-cutover.nginx.relaod: unknown field", "reload"}},
		{"empty test program", `nginx: {dir: /x, test: [""]}`, []string{"x-cutover.nginx.test", "no program"}},
		{"negative notice", "nginx: {dir: /x, reload_notice: -1s}", []string{"x-cutover.nginx.reload_notice"}},
		{"probe host with a port", "nginx: {dir: /x, probe_host: \"127.0.0.1:80\"}", []string{"x-cutover.nginx.probe_host"}},
		{"unknown dns key", "dns: {zone: example.test, tll: 5s}", []string{"x-cutover.dns.tll: unknown field", "ttl"}},
		{"unknown mode", "dns: {mode: route53}", []string{"x-cutover.dns.mode", "builtin, rfc2136"}},
		{"fractional ttl", "dns: {ttl: 1500ms}", []string{"x-cutover.dns.ttl", "whole seconds"}},
		{"bad zone", "dns: {zone: \"not a zone\"}", []string{"x-cutover.dns.zone"}},
		{"server with builtin", "dns: {server: 127.0.0.1}", []string{"x-cutover.dns.server", "only with mode: rfc2136"}},
		{"rfc2136 without server", "dns: {mode: rfc2136, zone: example.test, key_file: /k}", []string{"x-cutover.dns.server"}},
		{"rfc2136 without zone", "dns: {mode: rfc2136, server: 127.0.0.1, key_file: /k}", []string{"x-cutover.dns.zone"}},
		{"rfc2136 without key", "dns: {mode: rfc2136, zone: example.test, server: 127.0.0.1}", []string{"key_secret_env", "key_file"}},
		{"rfc2136 two keys", "dns: {mode: rfc2136, zone: example.test, server: 127.0.0.1, key_file: /k, key_secret_env: K, key_name: k}", []string{"exactly one"}},
		{"secret env without name", "dns: {mode: rfc2136, zone: example.test, server: 127.0.0.1, key_secret_env: K}", []string{"x-cutover.dns.key_name"}},
		{"bad algorithm", "dns: {mode: rfc2136, zone: example.test, server: 127.0.0.1, key_file: /k, key_algorithm: md5}", []string{"x-cutover.dns.key_algorithm"}},
		{"zero keep_old", "dns: {keep_old: 0s}", []string{"x-cutover.dns.keep_old", "positive"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			y := "name: shop\nx-cutover:\n  router: dns\n  " + tc.block + "\nservices:\n  web: {image: web}\n"
			f := writeFile(t, t.TempDir(), "compose.yaml", y)
			err := loadErr(t, LoadOptions{Files: []string{f}})
			wantErrContains(t, err, tc.want...)
		})
	}
}

func TestLoad_AddressesChecked(t *testing.T) {
	for _, tc := range []struct {
		desc, addrs string
		want        []string
	}{
		{"unknown color", "{blue: 127.0.0.11, green: 127.0.0.12, red: 127.0.0.13}", []string{"route.addresses.red: unknown field"}},
		{"missing green", "{blue: 127.0.0.11}", []string{"route.addresses.green", "missing"}},
		{"not an address", "{blue: 127.0.0.11, green: app.local}", []string{"route.addresses.green", "not an IP address"}},
		{"same address", "{blue: 127.0.0.11, green: 127.0.0.11}", []string{"route.addresses", "both 127.0.0.11"}},
		{"unspecified", "{blue: 0.0.0.0, green: 127.0.0.12}", []string{"route.addresses.blue"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			y := "name: shop\nservices:\n  web:\n    image: web\n    x-cutover:\n      route: {host: a.example.test, addresses: " + tc.addrs + "}\n"
			f := writeFile(t, t.TempDir(), "compose.yaml", y)
			err := loadErr(t, LoadOptions{Files: []string{f}})
			wantErrContains(t, err, append(tc.want, "services.web.x-cutover")...)
		})
	}
}
