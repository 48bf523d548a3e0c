package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/nginx/nginxtest"
)

// TestRouterMove_Refused: a blue-green stack served by the built-in proxy
// whose compose file now says router: nginx on the same port gets a clear
// refusal that names both routers and the way out, before anything
// changes: the proxy still answers v1, no green container was created, no
// release was recorded, and the stack still goes down cleanly.
func TestRouterMove_Refused(t *testing.T) {
	ng, err := nginxtest.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ng.Stop() })
	proxy := lb.NewProxy(nil)
	t.Cleanup(func() { _ = proxy.Close(t.Context()) })
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	file := func(stack, image, router string) string {
		return fmt.Sprintf(`name: %s
services:
  web:
    image: %s
    ports: ["%s:%s:8080"]
    x-cutover:
      route: {health: /healthz}
x-cutover:
  strategy: bluegreen
%s`, stack, image, host, port, router)
	}
	// Blue-green's default router: the proxy.
	e := newRouterEnv(t, "mv", deploy.MuxConfig{Proxy: proxy}, func(stack, image string) string { return file(stack, image, "") })
	e.mustDeploy("v1", store.StatusActive, "blue")
	mustAnswer(t, addr, "v1")

	// The user moves the stack to their nginx.
	argv := func(a []string) string { b, _ := json.Marshal(a); return string(b) }
	nginx := fmt.Sprintf("  router: nginx\n  nginx: {dir: %q, test: %s, reload: %s, pid_file: %q, error_log: %q}\n",
		ng.Dir, argv(ng.Test()), argv(ng.Reload()), ng.PIDFile, ng.ErrorLog)
	if err := os.WriteFile(e.file, []byte(file(e.stack, e.images["v1"], nginx)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.deploy("v2")
	switch {
	case err == nil:
		t.Fatal("a deploy moving a live route from the proxy to nginx succeeded")
	case !errors.Is(err, deploy.ErrBadInput):
		t.Errorf("error %v is not bad input", err)
	case !strings.Contains(err.Error(), "x-cutover.router") || !strings.Contains(err.Error(), "served by router proxy") ||
		!strings.Contains(err.Error(), "with nginx") || !strings.Contains(err.Error(), "cutover down "+e.stack):
		t.Errorf("error does not name the field, both routers and the way out: %v", err)
	}
	mustAnswer(t, addr, "v1")
	if n := len(e.running("green")); n != 0 {
		t.Errorf("%d green containers run after the refusal, want none", n)
	}
	rels, err := e.store.ListReleases(t.Context(), e.stack)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 {
		t.Errorf("%d releases recorded, want only release 1 (a refusal records nothing)", len(rels))
	}
	if files, _ := os.ReadDir(ng.Dir); len(files) != 0 {
		t.Errorf("nginx got files %v for a refused release", files)
	}
	// Down finds the route where it is: on the proxy.
	if _, err := e.d.Down(t.Context(), e.stack, true); err != nil {
		t.Fatalf("down after the refusal: %v", err)
	}
	if _, err := proxy.Targets(t.Context(), e.stack+"/web"); !errors.Is(err, lb.ErrNoRoute) {
		t.Errorf("the proxy still has route %s/web after down (%v)", e.stack, err)
	}
}
