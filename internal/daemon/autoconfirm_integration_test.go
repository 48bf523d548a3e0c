package daemon_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/compose"
	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/testimage"
)

// A release left awaiting its auto-confirm time by a process that went
// away is confirmed by the next daemon when the time comes: the old
// containers go and the release turns active, with no command.
func TestDaemonIntegration_ResumesAutoConfirm(t *testing.T) {
	w := newDockerWorld(t)
	v2 := strings.Replace(w.good, ":v1", ":v2", 1)
	testimage.ForTest(t).BuildForTest(t, testimage.Options{Tag: v2, Version: "v2", Healthcheck: true})
	stateDir := shortTempDir(t)
	s, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "compose.yaml")
	yaml := "name: " + w.stack + "\nservices:\n  web:\n    image: " + w.good + "\n    stop_grace_period: 2s\n" +
		"x-cutover:\n  strategy: rolling\n  auto_confirm: 3s\n  min_ready: 300ms\n  health_timeout: 30s\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := compose.Load(t.Context(), compose.LoadOptions{Files: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	// The releases are made without a daemon (a deploy returns once it
	// awaits confirmation; only the daemon's operations wait).
	d := &deploy.Deployer{Engine: w.eng, Store: s}
	t.Cleanup(func() { _, _ = d.Down(context.Background(), w.stack, true) }) // before the images go
	if _, err := d.Deploy(t.Context(), deploy.Request{Stack: st}); err != nil {
		t.Fatalf("release 1: %v", err)
	}
	res, err := d.Deploy(t.Context(), deploy.Request{Stack: st, Images: map[string]string{"web": v2}})
	if err != nil || res.Release.Status != store.StatusAwaitingConfirm || res.Release.AutoConfirmAt.IsZero() {
		t.Fatalf("release 2: %+v %v, want awaiting-confirm with an auto-confirm time", res.Release, err)
	}

	srv, err := daemon.New(daemon.Config{Store: s, Engine: w.eng, Version: "test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(cli.EnvServer, "")
	ctx, stop := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	defer func() { stop(); <-ran }()

	waitFor(t, 30*time.Second, "release 2 to confirm itself", func() bool {
		rel, err := s.GetRelease(context.Background(), w.stack, 2)
		return err == nil && rel.Status == store.StatusActive
	})
	cs, err := w.eng.ListContainers(context.Background(), map[string]string{compose.LabelProject: w.stack})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Name != w.stack+"-web-1" || cs[0].Labels[compose.LabelRelease] != "2" {
		var names []string
		for _, c := range cs {
			names = append(names, c.Name+"@"+c.Labels[compose.LabelRelease])
		}
		t.Errorf("containers after auto-confirm: %v, want only %s-web-1 of release 2", names, w.stack)
	}
}
