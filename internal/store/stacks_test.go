package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestGetStackNotFound(t *testing.T) {
	s := openStore(t, t.TempDir())
	_, err := s.GetStack(context.Background(), "hello")
	if !errors.Is(err, ErrStackNotFound) {
		t.Fatalf("err = %v, want ErrStackNotFound", err)
	}
	if !strings.Contains(err.Error(), `"hello"`) {
		t.Errorf("error %q does not name the stack", err)
	}
}

func TestPutStack(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), WithClock(newClock().Now))
	in := Stack{Name: "hello", WorkingDir: "/srv/hello", ConfigFiles: []string{"/srv/hello/compose.yaml"}, Strategy: "bluegreen"}
	if err := s.PutStack(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetStack(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got.WorkingDir != in.WorkingDir || !slices.Equal(got.ConfigFiles, in.ConfigFiles) || got.Strategy != in.Strategy {
		t.Errorf("got %+v, want fields of %+v", got, in)
	}
	if got.CreatedAt.IsZero() || !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Errorf("new stack: CreatedAt %v, UpdatedAt %v", got.CreatedAt, got.UpdatedAt)
	}

	// Two releases move the counter; a PutStack with a stale copy must not
	// move it back, or numbers would be reused.
	for range 2 {
		if _, err := s.CreateRelease(ctx, Release{Stack: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutStack(ctx, Stack{Name: "hello", WorkingDir: "/srv/new"}); err != nil {
		t.Fatal(err)
	}
	again, err := s.GetStack(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if again.LastRelease != 2 {
		t.Errorf("LastRelease = %d after PutStack, want 2", again.LastRelease)
	}
	if again.WorkingDir != "/srv/new" {
		t.Errorf("WorkingDir = %q, want /srv/new", again.WorkingDir)
	}
	if !again.CreatedAt.Equal(got.CreatedAt) || !again.UpdatedAt.After(got.UpdatedAt) {
		t.Errorf("CreatedAt %v → %v, UpdatedAt %v → %v", got.CreatedAt, again.CreatedAt, got.UpdatedAt, again.UpdatedAt)
	}
	if err := s.PutStack(ctx, Stack{}); err == nil {
		t.Error("PutStack without a name succeeded")
	}
}

func TestUpdateStack(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.PutStack(ctx, Stack{Name: "hello"}); err != nil {
		t.Fatal(err)
	}
	errNo := errors.New("no")
	tests := []struct {
		desc    string
		name    string
		fn      func(*Stack) error
		wantErr error // nil: any error
		ok      bool
	}{
		{desc: "set down", name: "hello", fn: func(st *Stack) error { st.Down = true; return nil }, ok: true},
		{desc: "fn error aborts", name: "hello", fn: func(st *Stack) error { st.Down = false; return errNo }, wantErr: errNo},
		{desc: "rename rejected", name: "hello", fn: func(st *Stack) error { st.Name = "other"; st.Down = false; return nil }},
		{desc: "counter cannot go down", name: "hello", fn: func(st *Stack) error { st.LastRelease = -1; st.Down = false; return nil }},
		{desc: "unknown stack", name: "nope", fn: func(*Stack) error { return nil }, wantErr: ErrStackNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := s.UpdateStack(ctx, tt.name, tt.fn)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("err = %v", err)
			case !tt.ok && err == nil:
				t.Fatal("no error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// Only the first case may have changed anything.
			st, err := s.GetStack(ctx, "hello")
			if err != nil {
				t.Fatal(err)
			}
			if !st.Down || st.Name != "hello" || st.LastRelease != 0 {
				t.Errorf("stored %+v", st)
			}
		})
	}
}

func TestListStacksSorted(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	empty, err := s.ListStacks(ctx)
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty store: %v, %v", empty, err)
	}
	for _, n := range []string{"web", "api", "db", "api-2"} {
		if err := s.PutStack(ctx, Stack{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateRelease(ctx, Release{Stack: "cache"}); err != nil {
		t.Fatal(err)
	}
	sts, err := s.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range sts {
		names = append(names, st.Name)
	}
	want := []string{"api", "api-2", "cache", "db", "web"}
	if !slices.Equal(names, want) {
		t.Errorf("ListStacks = %v, want %v", names, want)
	}
}
