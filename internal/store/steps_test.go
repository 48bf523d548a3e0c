package store

import (
	"context"
	"errors"
	"testing"
)

func TestStepJournal(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), WithClock(newClock().Now))
	r, err := s.CreateRelease(ctx, Release{Stack: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	i0, err := s.AppendStep(ctx, "hello", r.Number, Step{Action: "create", Target: "web-green-1", Cause: "new release"})
	if err != nil {
		t.Fatal(err)
	}
	i1, err := s.AppendStep(ctx, "hello", r.Number, Step{Action: "wait-healthy", Target: "web-green-1"})
	if err != nil {
		t.Fatal(err)
	}
	if i0 != 0 || i1 != 1 {
		t.Fatalf("indices %d, %d, want 0, 1", i0, i1)
	}

	// Before finishing, the journal says what was under way.
	mid, err := s.GetRelease(ctx, "hello", r.Number)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range mid.Steps {
		if st.Status != StepStarted || st.StartedAt.IsZero() || !st.EndedAt.IsZero() {
			t.Errorf("step %d before finishing: %+v", i, st)
		}
	}

	if err := s.FinishStep(ctx, "hello", r.Number, i0, StepDone, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishStep(ctx, "hello", r.Number, i1, StepFailed, "unhealthy after 30s"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRelease(ctx, "hello", r.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(got.Steps))
	}
	want := []struct{ action, status, err string }{
		{"create", StepDone, ""},
		{"wait-healthy", StepFailed, "unhealthy after 30s"},
	}
	for i, w := range want {
		st := got.Steps[i]
		if st.Action != w.action || st.Status != w.status || st.Error != w.err {
			t.Errorf("step %d = %+v, want %+v", i, st, w)
		}
		if !st.EndedAt.After(st.StartedAt) {
			t.Errorf("step %d: started %v, ended %v", i, st.StartedAt, st.EndedAt)
		}
	}
	if got.Steps[0].Cause != "new release" || got.Steps[0].Target != "web-green-1" {
		t.Errorf("step 0 lost fields: %+v", got.Steps[0])
	}

	tests := []struct {
		desc    string
		n       int
		index   int
		status  string
		wantErr error
	}{
		{desc: "index past the end", n: r.Number, index: 2, status: StepDone},
		{desc: "negative index", n: r.Number, index: -1, status: StepDone},
		{desc: "unknown status", n: r.Number, index: 0, status: "finished"},
		{desc: "started does not finish", n: r.Number, index: 0, status: StepStarted},
		{desc: "unknown release", n: 5, index: 0, status: StepDone, wantErr: ErrReleaseNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := s.FinishStep(ctx, "hello", tt.n, tt.index, tt.status, "")
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := s.AppendStep(ctx, "hello", 5, Step{Action: "create"}); !errors.Is(err, ErrReleaseNotFound) {
		t.Errorf("AppendStep to unknown release: err = %v", err)
	}
	if _, err := s.AppendStep(ctx, "hello", r.Number, Step{Action: "create", Status: "bogus"}); err == nil {
		t.Error("AppendStep with unknown status succeeded")
	}
	// Undone is allowed after done.
	if err := s.FinishStep(ctx, "hello", r.Number, i0, StepUndone, ""); err != nil {
		t.Errorf("undo step: %v", err)
	}
}
