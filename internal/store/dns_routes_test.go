package store

import (
	"context"
	"encoding/json"
	"testing"
)

func TestDNSRoutes_PutListDeleteByBackend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)

	if got, err := s.ListDNSRoutes(ctx, "builtin"); err != nil || len(got) != 0 {
		t.Fatalf("ListDNSRoutes on a new store = %v, %v; want none", got, err)
	}
	if err := s.DeleteDNSRoute(ctx, "shop/web"); err != nil {
		t.Fatalf("DeleteDNSRoute of a route never stored: %v", err)
	}
	web := DNSRoute{Name: "shop/web", Backend: "builtin", State: json.RawMessage(`{"route":{"name":"shop/web"},"targets":["127.0.0.11:80"]}`)}
	api := DNSRoute{Name: "shop/api", Backend: "rfc2136 127.0.0.1:53 example.test.", State: json.RawMessage(`{"route":{"name":"shop/api"},"targets":[]}`)}
	for _, r := range []DNSRoute{web, api} {
		if err := s.PutDNSRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Another Store on the same dir (another process) sees each backend's routes only.
	other := openStore(t, dir)
	got, err := other.ListDNSRoutes(ctx, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "shop/web" || string(got[0].State) != string(web.State) || got[0].UpdatedAt.IsZero() {
		t.Fatalf("builtin routes = %+v, want shop/web with its state, stamped", got)
	}
	if got, _ := other.ListDNSRoutes(ctx, api.Backend); len(got) != 1 || got[0].Name != "shop/api" {
		t.Fatalf("rfc2136 routes = %+v, want shop/api", got)
	}
	// A route that moved to another backend is listed under that one only.
	web.Backend = api.Backend
	if err := s.PutDNSRoute(ctx, web); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListDNSRoutes(ctx, "builtin"); len(got) != 0 {
		t.Errorf("builtin routes after the move = %+v, want none", got)
	}
	if err := s.DeleteDNSRoute(ctx, "shop/api"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListDNSRoutes(ctx, api.Backend); len(got) != 1 || got[0].Name != "shop/web" {
		t.Errorf("rfc2136 routes after deleting shop/api = %+v, want shop/web", got)
	}
}
