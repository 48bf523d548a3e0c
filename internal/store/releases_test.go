package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestCreateReleaseNumbering(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	s := openStore(t, dir, WithClock(clock.Now))
	defaults := Stack{WorkingDir: "/srv/hello", ConfigFiles: []string{"compose.yaml"}, Strategy: "rolling"}

	for want := 1; want <= 3; want++ {
		r, err := s.CreateRelease(ctx, Release{Stack: "hello", Number: 42, Trigger: "cli"}, defaults)
		if err != nil {
			t.Fatal(err)
		}
		if r.Number != want {
			t.Errorf("release number = %d, want %d", r.Number, want)
		}
		if r.Status != StatusPending {
			t.Errorf("status = %q, want pending", r.Status)
		}
		if r.CreatedAt.IsZero() || !r.CreatedAt.After(t0) {
			t.Errorf("CreatedAt = %v, not from the clock", r.CreatedAt)
		}
	}
	st, err := s.GetStack(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRelease != 3 || st.WorkingDir != "/srv/hello" || !slices.Equal(st.ConfigFiles, defaults.ConfigFiles) || st.Strategy != "rolling" {
		t.Errorf("stack = %+v", st)
	}

	// Numbering survives reopening, as by another process.
	s2 := openStore(t, dir)
	r, err := s2.CreateRelease(ctx, Release{Stack: "hello", Status: StatusDeploying},
		Stack{WorkingDir: "/elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Number != 4 || r.Status != StatusDeploying {
		t.Errorf("after reopen: number %d status %q, want 4 deploying", r.Number, r.Status)
	}
	st, err = s2.GetStack(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if st.WorkingDir != "/srv/hello" {
		t.Errorf("defaults changed an existing stack: WorkingDir = %q", st.WorkingDir)
	}

	// Another stack counts on its own.
	other, err := s2.CreateRelease(ctx, Release{Stack: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if other.Number != 1 {
		t.Errorf("other stack's first release = %d, want 1", other.Number)
	}
	if _, err := s2.CreateRelease(ctx, Release{}); err == nil {
		t.Error("CreateRelease without a stack succeeded")
	}
}

func TestCreateReleaseConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const stores, workers, each = 3, 3, 4
	var (
		mu      sync.Mutex
		numbers []int
		wg      sync.WaitGroup
	)
	for range stores {
		s := openStore(t, dir)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					r, err := s.CreateRelease(ctx, Release{Stack: "hello"})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					numbers = append(numbers, r.Number)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	slices.Sort(numbers)
	const total = stores * workers * each
	if len(numbers) != total {
		t.Fatalf("got %d releases, want %d", len(numbers), total)
	}
	for i, n := range numbers {
		if n != i+1 {
			t.Fatalf("numbers not unique and consecutive: %v", numbers)
		}
	}
	s := openStore(t, dir)
	rs, err := s.ListReleases(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Number != i+1 {
			t.Fatalf("ListReleases not ascending: release %d at %d", r.Number, i)
		}
	}
	if len(rs) != total {
		t.Errorf("ListReleases: %d releases, want %d", len(rs), total)
	}
	st, err := s.GetStack(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRelease != total {
		t.Errorf("LastRelease = %d, want %d", st.LastRelease, total)
	}
}

func TestGetRelease(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	want, err := s.CreateRelease(ctx, Release{
		Stack:    "hello",
		Strategy: "bluegreen",
		Trigger:  "webhook:dockerhub",
		Images:   map[string]ImageRef{"web": {Ref: "myorg/web:1.4", Digest: "myorg/web@sha256:abc"}},
		Spec:     json.RawMessage(`{"services":{"web":{}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRelease(ctx, "hello", want.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetRelease = %+v\nwant %+v", got, want)
	}

	tests := []struct {
		desc         string
		stack        string
		n            int
		stackMissing bool
	}{
		{desc: "number past the last", stack: "hello", n: 2},
		{desc: "number zero", stack: "hello", n: 0},
		{desc: "unknown stack", stack: "nope", n: 1, stackMissing: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := s.GetRelease(ctx, tt.stack, tt.n)
			if !errors.Is(err, ErrReleaseNotFound) {
				t.Fatalf("err = %v, want ErrReleaseNotFound", err)
			}
			if errors.Is(err, ErrStackNotFound) != tt.stackMissing {
				t.Errorf("err = %v: wraps ErrStackNotFound: %v, want %v", err, !tt.stackMissing, tt.stackMissing)
			}
			if !strings.Contains(err.Error(), `"`+tt.stack+`"`) {
				t.Errorf("error %q does not name the stack", err)
			}
		})
	}
}

func TestUpdateRelease(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, WithClock(newClock().Now))
	r, err := s.CreateRelease(ctx, Release{Stack: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	updated, err := s.UpdateRelease(ctx, "hello", r.Number, func(r *Release) error {
		r.Status = StatusDeploying
		r.StartedAt = t0
		r.Note = "no changes"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Read back through another Store: the change is on disk.
	got, err := openStore(t, dir).GetRelease(ctx, "hello", r.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, updated) || got.Status != StatusDeploying || got.Note != "no changes" || !got.StartedAt.Equal(t0) {
		t.Errorf("stored %+v\nreturned %+v", got, updated)
	}

	errStop := errors.New("stop")
	tests := []struct {
		desc    string
		n       int
		fn      func(*Release) error
		wantErr error // nil: any error
	}{
		{desc: "fn error aborts", n: 1, fn: func(r *Release) error { r.Status = StatusFailed; return errStop }, wantErr: errStop},
		{desc: "renumbering rejected", n: 1, fn: func(r *Release) error { r.Status = StatusFailed; r.Number = 7; return nil }},
		{desc: "moving stack rejected", n: 1, fn: func(r *Release) error { r.Status = StatusFailed; r.Stack = "x"; return nil }},
		{desc: "unknown release", n: 9, fn: func(*Release) error { return nil }, wantErr: ErrReleaseNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := s.UpdateRelease(ctx, "hello", tt.n, tt.fn)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got, err := s.GetRelease(ctx, "hello", 1)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != StatusDeploying {
				t.Errorf("failed update was stored: status %q", got.Status)
			}
		})
	}
}

func TestLatestRelease(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	for _, st := range []Status{StatusSuperseded, StatusActive, StatusFailed, StatusAwaitingConfirm, StatusRolledBack} {
		if _, err := s.CreateRelease(ctx, Release{Stack: "hello", Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutStack(ctx, Stack{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		stack    string
		statuses []Status
		want     int // 0: none
		wantMsg  string
	}{
		{desc: "any status", stack: "hello", want: 5},
		{desc: "active", stack: "hello", statuses: []Status{StatusActive}, want: 2},
		{desc: "active or awaiting", stack: "hello", statuses: []Status{StatusActive, StatusAwaitingConfirm}, want: 4},
		{desc: "failed", stack: "hello", statuses: []Status{StatusFailed}, want: 3},
		{desc: "newest", stack: "hello", statuses: []Status{StatusSuperseded, StatusRolledBack}, want: 5},
		{desc: "none in status", stack: "hello", statuses: []Status{StatusPending, StatusDeploying},
			wantMsg: `stack "hello" has no release that is pending or deploying: release not found`},
		{desc: "stack without releases", stack: "empty", wantMsg: `stack "empty" has no releases: release not found`},
		{desc: "unknown stack", stack: "nope", wantMsg: `stack "nope": release not found (stack not found)`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := s.LatestRelease(ctx, tt.stack, tt.statuses...)
			if tt.want == 0 {
				if !errors.Is(err, ErrReleaseNotFound) {
					t.Fatalf("err = %v, want ErrReleaseNotFound", err)
				}
				if err.Error() != tt.wantMsg {
					t.Errorf("error %q, want %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Number != tt.want {
				t.Errorf("release %d (%s), want %d", r.Number, r.Status, tt.want)
			}
		})
	}
}

func TestListReleasesUnknownOrEmpty(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, err := s.ListReleases(ctx, "nope"); !errors.Is(err, ErrStackNotFound) {
		t.Errorf("unknown stack: err = %v, want ErrStackNotFound", err)
	}
	if err := s.PutStack(ctx, Stack{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ListReleases(ctx, "empty")
	if err != nil || len(rs) != 0 {
		t.Errorf("stack without releases: %v, %v", rs, err)
	}
}
