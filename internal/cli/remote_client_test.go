package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/store"
)

// An error the daemon reports exits the CLI with the code the daemon
// computed, which is the code the same error has in-process.
func TestFromAPI_ExitCodeOfEveryKind(t *testing.T) {
	for _, k := range []api.Kind{api.KindBadInput, api.KindConflict, api.KindFailed, api.KindEnv, api.KindUnauthorized, api.KindInternal} {
		err := fromAPI(api.Error{Message: "the daemon's words", Kind: k})
		if got := ExitCode(err); got != k.ExitCode() {
			t.Errorf("kind %s: ExitCode %d, want %d", k, got, k.ExitCode())
		}
		if err.Error() != "the daemon's words" {
			t.Errorf("kind %s: message %q changed", k, err)
		}
	}
	lock := store.Lock{Stack: "shop", Release: 4, PID: 7, Host: "h"}
	err := fromAPI(api.Error{Message: "locked", Kind: api.KindConflict, Lock: &lock, Stale: true})
	var locked *store.LockedError
	if !errors.As(err, &locked) || !locked.Stale || locked.Lock.Release != 4 {
		t.Errorf("conflict with a lock: errors.As found %+v", locked)
	}
}

func TestRemote_AnswersThatAreNotTheAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway from some proxy", http.StatusBadGateway)
	}))
	defer srv.Close()
	r, err := newRemote(srv.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.History(context.Background(), "shop")
	if ExitCode(err) != ExitEnv || !strings.Contains(err.Error(), "502") {
		t.Errorf("non-API answer: %v (exit %d)", err, ExitCode(err))
	}

	// Nothing listens: the daemon is unreachable, exit 4.
	r, _ = newRemote("unix://"+filepath.Join(t.TempDir(), "none.sock"), "", nil)
	_, err = r.Stacks(context.Background())
	if ExitCode(err) != ExitEnv || !strings.Contains(err.Error(), "cannot reach the cutover daemon at unix://") {
		t.Errorf("unreachable daemon: %v (exit %d)", err, ExitCode(err))
	}
}

func TestServerFlag_Validation(t *testing.T) {
	t.Setenv(EnvToken, "")
	t.Setenv(EnvServer, "")
	for _, server := range []string{"ftp://host", "unix://", "http://"} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), []string{"--state-dir", t.TempDir(), "--server", server, "history", "shop"}, &out, &errb)
		if code != ExitBadInput || !strings.Contains(errb.String(), "--server") {
			t.Errorf("--server %s: exit %d, %q", server, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--state-dir", t.TempDir(), "serve", "--listen", "127.0.0.1:0"}, &out, &errb)
	if code != ExitBadInput || !strings.Contains(errb.String(), "needs a bearer token") {
		t.Errorf("serve --listen without a token: exit %d, %q", code, errb.String())
	}
}
