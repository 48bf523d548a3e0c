package deploy_test

import (
	"context"
	"encoding/json"
	"github.com/cutover/cutover/internal/syncbuf"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/notify"
)

// eventSink is a generic webhook receiver that answers 503 to its first
// `fail` requests.
type eventSink struct {
	srv *httptest.Server

	mu     sync.Mutex
	fail   int
	tries  int
	events []notify.Event
}

func newEventSink(t *testing.T, fail int) *eventSink {
	s := &eventSink{fail: fail}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.tries++
		if s.fail > 0 {
			s.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var e notify.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("notification body %q: %v", body, err)
		}
		s.events = append(s.events, e)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *eventSink) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		out = append(out, e.Kind)
	}
	return out
}

func (s *eventSink) event(i int) notify.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events[i]
}

func TestNotifications_ReleaseLifecycle(t *testing.T) {
	sink := newEventSink(t, 2)
	h := newHarnessFor(t, strings.Replace(stackFile, "x-cutover:\n", "x-cutover:\n  rolling: {monitor: 0s}\n  notify:\n    webhook: "+sink.srv.URL+"/hook\n", 1))
	notes := deploy.NewNotifications(deploy.NotificationsConfig{Options: notify.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}})
	h.deployer.Notify = notes

	h.mustDeploy(deploy.Request{Trigger: "webhook:registry"})
	_, err := h.deploy(t.Context(), deploy.Request{Images: map[string]string{"web": "hello:9"}}) // not present, no registry
	if err == nil {
		t.Fatal("deploy of a missing image succeeded")
	}
	res, err := h.deploy(t.Context(), deploy.Request{Strategy: "rolling", Images: map[string]string{"web": "hello:2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.deployer.Rollback(t.Context(), "hello"); err != nil {
		t.Fatalf("rollback of release %d: %v", res.Release.Number, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := notes.Close(ctx); err != nil {
		t.Fatal(err)
	}

	want := []string{"start", "success", "start", "failure", "start", "success", "rollback"}
	if got := sink.kinds(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("notified %v, want %v", got, want)
	}
	first := sink.event(0)
	if first.Stack != "hello" || first.Release != 1 || first.Trigger != "webhook:registry" || first.Strategy != "recreate" ||
		first.Images["web"] != "hello:1" || first.Images["cache"] != "redis:7" {
		t.Errorf("start event = %+v", first)
	}
	if failure := sink.event(3); failure.Release != 2 || !strings.Contains(failure.Reason, "hello:9") {
		t.Errorf("failure event = %+v, want release 2 with the reason naming hello:9", failure)
	}
	if ok := sink.event(5); ok.Release != 3 || ok.Strategy != "rolling" || ok.Images["web"] != "hello:2" {
		t.Errorf("success of the rolling release = %+v", ok)
	}
	if rb := sink.event(6); rb.Release != 3 || !strings.Contains(rb.Reason, "rolled back to release 1") {
		t.Errorf("rollback event = %+v", rb)
	}
}

// A notify block whose secret variable is unset does not stop the deploy:
// it says so on the release's progress.
func TestNotifications_UnsetVariableWarnsAndDeploys(t *testing.T) {
	h := newHarnessFor(t, strings.Replace(stackFile, "x-cutover:\n", "x-cutover:\n  notify:\n    slack: {url_env: CUTOVER_TEST_UNSET_SLACK_URL}\n", 1))
	var mu sync.Mutex
	var warnings []string
	h.deployer.Observer = deploy.ObserverFunc(func(e deploy.Event) {
		if e.Status == "warning" {
			mu.Lock()
			warnings = append(warnings, e.Message)
			mu.Unlock()
		}
	})
	h.deployer.Notify = deploy.NewNotifications(deploy.NotificationsConfig{Getenv: func(string) string { return "" }})
	t.Cleanup(func() { _ = h.deployer.Notify.Close(context.Background()) })
	h.mustDeploy(deploy.Request{})
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "x-cutover.notify.slack.url_env: $CUTOVER_TEST_UNSET_SLACK_URL is not set") {
		t.Errorf("warnings %q, want one naming the unset variable", warnings)
	}
}

// slackSink is a Slack incoming-webhook stand-in: it keeps each message's
// text.
type slackSink struct {
	srv   *httptest.Server
	mu    sync.Mutex
	texts []string
}

func newSlackSink(t *testing.T) *slackSink {
	s := &slackSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("slack message: %v", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.texts = append(s.texts, m.Text)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slackSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.texts...)
}

// One sink whose variable is unset is skipped, with one warning naming it
// and the field; the other sinks of the stack still get every event. The
// warning is the progress event, not also a warn line in the log (the CLI
// prints both on stderr when it deploys in-process).
func TestNotifications_UnsetVariableSkipsOnlyItsSink(t *testing.T) {
	slack := newSlackSink(t)
	hook := newEventSink(t, 0)
	block := "x-cutover:\n  notify:\n    slack: " + slack.srv.URL + "/services/T000/B000/XXXX\n" +
		"    webhook: {url: " + hook.srv.URL + "/hook, secret_env: CUTOVER_TEST_UNSET_SECRET}\n"
	h := newHarnessFor(t, strings.Replace(stackFile, "x-cutover:\n", block, 1))
	var mu sync.Mutex
	var warnings []string
	h.deployer.Observer = deploy.ObserverFunc(func(e deploy.Event) {
		if e.Status == "warning" {
			mu.Lock()
			warnings = append(warnings, e.Message)
			mu.Unlock()
		}
	})
	var logs syncBuffer
	h.deployer.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	notes := deploy.NewNotifications(deploy.NotificationsConfig{Getenv: func(string) string { return "" }})
	h.deployer.Notify = notes

	h.mustDeploy(deploy.Request{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := notes.Close(ctx); err != nil {
		t.Fatal(err)
	}

	want := []string{"hello: release 1 started (recreate)", "hello: release 1 succeeded (recreate)"}
	if got := slack.got(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("slack got %q, want %q", got, want)
	}
	if got := hook.kinds(); len(got) != 0 {
		t.Errorf("the webhook without its secret got %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || warnings[0] != "notifications to webhook are not sent: x-cutover.notify.webhook.secret_env: $CUTOVER_TEST_UNSET_SECRET is not set" {
		t.Errorf("warnings %q, want one naming the webhook and its secret_env", warnings)
	}
	if strings.Contains(logs.String(), "not sent") {
		t.Errorf("the warning is also a warn line in the log:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer = syncbuf.Buffer
