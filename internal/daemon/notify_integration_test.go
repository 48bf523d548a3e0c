package daemon_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/notify"
)

// notifySink is a local HTTP server standing in for Slack or a generic
// webhook. It answers 503 to its first `fail` requests.
type notifySink struct {
	srv *httptest.Server

	mu       sync.Mutex
	fail     int
	refused  int
	messages []string // Slack's text, or the event as kind/release
}

func newNotifySink(t *testing.T, fail int) *notifySink {
	s := &notifySink{fail: fail}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail > 0 {
			s.fail--
			s.refused++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get(notify.EventHeader) != "" {
			var e notify.Event
			if err := json.Unmarshal(body, &e); err != nil {
				t.Errorf("webhook body %s: %v", body, err)
			}
			s.messages = append(s.messages, e.Kind+" "+e.Stack+" "+itoa(e.Release)+" "+e.Trigger)
			return
		}
		var m struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("slack body %s: %v", body, err)
		}
		s.messages = append(s.messages, m.Text)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *notifySink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

func (s *notifySink) refusedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// notifyCompose is the world's stack with both sinks configured.
func (w *dockerWorld) notifyCompose(image, slackURL, webhookURL string) string {
	return w.composeFile(`services:
  web:
    image: ` + image + `
    stop_grace_period: 2s
x-cutover:
  min_ready: 300ms
  health_timeout: 30s
  notify:
    slack: ` + slackURL + `
    webhook: {url: "` + webhookURL + `", on: [start, success, failure]}
`)
}

// Release notifications reach a Slack-style and a generic webhook server
// from a CLI deploy in-process (delivered before the command exits, even
// though the webhook answers 503 twice first) and from a daemon deploy.
func TestNotificationsIntegration_CLIAndDaemonDeploys(t *testing.T) {
	w := newDockerWorld(t)
	slack := newNotifySink(t, 0)
	hook := newNotifySink(t, 2)
	stateDir := shortTempDir(t)
	t.Setenv("CUTOVER_SERVER", "")

	mustRun(t, stateDir, "deploy", "-f", w.notifyCompose(w.good, slack.srv.URL+"/services/T/B/X", hook.srv.URL+"/cutover"), "-p", w.stack)
	r := run(t, t.Context(), stateDir, "deploy", "-f", w.notifyCompose(w.bad, slack.srv.URL+"/services/T/B/X", hook.srv.URL+"/cutover"), "-p", w.stack)
	if r.code != 1 {
		t.Fatalf("deploy of an image that exits: exit %d, want 1\n%s", r.code, r.stderr)
	}
	wantHook := []string{"start " + w.stack + " 1 cli", "success " + w.stack + " 1 cli", "start " + w.stack + " 2 cli", "failure " + w.stack + " 2 cli"}
	if got := hook.got(); strings.Join(got, "|") != strings.Join(wantHook, "|") {
		t.Errorf("webhook received %q, want %q (after the CLI exited)", got, wantHook)
	}
	if n := hook.refusedCount(); n != 2 {
		t.Errorf("webhook refused %d requests, want 2 (then retries succeeded)", n)
	}
	gotSlack := slack.got()
	if len(gotSlack) != 4 || !strings.HasPrefix(gotSlack[1], w.stack+": release 1 succeeded in ") || !strings.HasPrefix(gotSlack[3], w.stack+": release 2 failed after ") {
		t.Errorf("slack received %q, want start, success, start, failure", gotSlack)
	}

	d := startDaemonOn(t, stateDir, w)
	mustRun(t, stateDir, "deploy", "-f", w.notifyCompose(w.good, slack.srv.URL+"/services/T/B/X", hook.srv.URL+"/cutover"), "-p", w.stack)
	d.waitLog("path=/v1/stacks/" + w.stack + "/deploy")
	waitFor(t, 30*time.Second, "the daemon's notifications", func() bool { return len(hook.got()) == 6 && len(slack.got()) == 6 })
	if got := hook.got()[4:]; got[0] != "start "+w.stack+" 3 cli" || got[1] != "success "+w.stack+" 3 cli" {
		t.Errorf("webhook received %q from the daemon's deploy", got)
	}
}
