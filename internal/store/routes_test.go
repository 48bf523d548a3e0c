package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
)

func TestRoutes_PutListDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, WithClock(newClock().Now))

	if got, err := s.ListRoutes(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListRoutes on a new store = %v, %v; want none", got, err)
	}
	if err := s.DeleteRoute(ctx, "shop/web"); err != nil {
		t.Fatalf("DeleteRoute of a route never stored: %v", err)
	}

	web := Route{Name: "shop/web", Config: json.RawMessage(`{"name":"shop/web","listen":"127.0.0.1:8080"}`), Targets: []string{"172.18.0.2:80", "172.18.0.3:80"}}
	api := Route{Name: "shop/api", Config: json.RawMessage(`{"name":"shop/api","listen":"127.0.0.1:8081"}`)}
	for _, r := range []Route{web, api} {
		if err := s.PutRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	// Another Store on the same dir (another process) sees the same table.
	other := openStore(t, dir)
	got, err := other.ListRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "shop/api" || got[1].Name != "shop/web" {
		t.Fatalf("ListRoutes = %+v, want shop/api then shop/web", got)
	}
	if !slices.Equal(got[1].Targets, web.Targets) || string(got[1].Config) != string(web.Config) {
		t.Errorf("shop/web read back as %+v, want %+v", got[1], web)
	}
	if got[0].Targets == nil || len(got[0].Targets) != 0 {
		t.Errorf("a route without targets reads back with Targets %#v, want an empty list", got[0].Targets)
	}
	if got[1].UpdatedAt.IsZero() {
		t.Error("UpdatedAt not stamped")
	}

	// Put replaces: a switch leaves only the new targets.
	web.Targets = []string{"172.18.0.9:80"}
	if err := s.PutRoute(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoute(ctx, "shop/api"); err != nil {
		t.Fatal(err)
	}
	got, err = s.ListRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "shop/web" || !slices.Equal(got[0].Targets, []string{"172.18.0.9:80"}) {
		t.Fatalf("after replace and delete: %+v", got)
	}
}

func TestPutRoute_NeedsName(t *testing.T) {
	s := openStore(t, t.TempDir())
	if err := s.PutRoute(context.Background(), Route{}); err == nil {
		t.Fatal("PutRoute without a name succeeded")
	}
}

func TestRoutes_Split(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)

	web := Route{
		Name:    "shop/web",
		Config:  json.RawMessage(`{"name":"shop/web","listen":"127.0.0.1:8080"}`),
		Targets: []string{"172.18.0.2:80", "172.18.0.7:80"},
		Split:   &RouteSplit{Stable: []string{"172.18.0.2:80"}, Canary: []string{"172.18.0.7:80"}, Weight: 30},
	}
	if err := s.PutRoute(ctx, web); err != nil {
		t.Fatal(err)
	}
	// A record as the version before splits wrote it: no split field.
	old := map[string]any{"name": "shop/api", "config": json.RawMessage(`{"name":"shop/api","listen":"127.0.0.1:8081"}`), "targets": []string{"172.18.0.5:9000"}}
	if err := s.putRecord(ctx, bucketRoutes, "shop/api", old); err != nil {
		t.Fatal(err)
	}

	got, err := openStore(t, dir).ListRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("ListRoutes = %+v, want shop/api and shop/web", got)
	}
	if got[0].Split != nil || !slices.Equal(got[0].Targets, []string{"172.18.0.5:9000"}) {
		t.Errorf("old record read back as %+v, want its targets and no split", got[0])
	}
	sp := got[1].Split
	if sp == nil || !slices.Equal(sp.Stable, web.Split.Stable) || !slices.Equal(sp.Canary, web.Split.Canary) || sp.Weight != 30 {
		t.Errorf("split read back as %+v, want %+v", sp, web.Split)
	}

	// Replacing the record without a split (SetTargets ended it) drops it.
	web.Split = nil
	if err := s.PutRoute(ctx, web); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListRoutes(ctx); len(got) != 2 || got[1].Split != nil {
		t.Errorf("after a put without a split: %+v", got)
	}
}
