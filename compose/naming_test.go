package compose

import (
	"reflect"
	"strings"
	"testing"
)

func TestNaming(t *testing.T) {
	tests := []struct {
		desc, got, want string
	}{
		{desc: "container", got: ContainerName("shop", "web", 2), want: "shop-web-2"},
		{desc: "color project container", got: ContainerName("shop-blue", "web", 1), want: "shop-blue-web-1"},
		{desc: "built image", got: DefaultImageName("shop", "api"), want: "shop-api"},
		{desc: "network", got: NetworkName("shop", "default"), want: "shop_default"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// Desired's container names agree with ContainerName, docker compose's scheme.
func TestNaming_MatchesDesired(t *testing.T) {
	st := loadYAML(t, "name: shop\nservices:\n  web: {image: web}\n")
	web := service(t, mustDesired(t, st, 1), "web")
	for n := 1; n <= 3; n++ {
		if got, want := web.Container(n).Name, ContainerName("shop", "web", n); got != want {
			t.Errorf("replica %d = %q, want %q", n, got, want)
		}
	}
}

func TestStack_Unsupported(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web:
    image: web
    pid: host
    ulimits: {nofile: 1024}
    shm_size: 64m
  db:
    image: db
`)
	want := []string{"services.web.pid", "services.web.shm_size", "services.web.ulimits"}
	if got := st.Unsupported(); !reflect.DeepEqual(got, want) {
		t.Errorf("Unsupported = %v, want %v", got, want)
	}
	plain := loadYAML(t, "name: shop\nservices:\n  web: {image: web, ports: [\"80\"], environment: [A=1]}\n")
	if got := plain.Unsupported(); len(got) != 0 {
		t.Errorf("Unsupported = %v for a stack cutover fully applies", got)
	}
	for _, f := range st.Unsupported() {
		if strings.Contains(f, "db") {
			t.Errorf("db listed: %s", f)
		}
	}
}
