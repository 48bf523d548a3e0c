package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cutover/cutover/internal/store"
)

// A deploy run in-process with a stack whose webhook sink lacks its secret:
// Slack still gets the release's messages, stderr says once (as a formatted
// warning) which sink is skipped and why, and neither status nor history
// shows the notification URLs whole — while the release record keeps them
// for redeploys.
func TestNotify_SkippedSinkAndRedactedOutputs(t *testing.T) {
	e := newEnv(t)
	v1 := e.image("v1", nil, true)

	var mu sync.Mutex
	var slackTexts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Text string `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		slackTexts = append(slackTexts, m.Text)
		mu.Unlock()
	}))
	defer slack.Close()
	const (
		slackSecret = "SLACKPATHSECRET"
		hookSecret  = "WEBHOOKPATHSECRET"
		secretEnv   = "CUTOVER_TEST_NOTIFY_SECRET_UNSET"
	)
	t.Setenv(secretEnv, "") // unset as far as cutover is concerned
	slackURL := slack.URL + "/services/" + slackSecret
	hookURL := "http://127.0.0.1:9/fail/" + hookSecret
	file := e.writeCompose(`services:
  web:
    image: ` + v1 + `
    stop_grace_period: 2s
x-cutover:
  min_ready: 500ms
  health_timeout: 20s
  notify:
    slack: ` + slackURL + `
    webhook: {url: "` + hookURL + `", secret_env: ` + secretEnv + `}
`)

	r := e.mustRun("deploy", "-f", file, "-p", e.stack)
	warning := "warning: notifications to webhook are not sent: x-cutover.notify.webhook.secret_env: $" + secretEnv + " is not set"
	if n := strings.Count(r.stderr, warning); n != 1 {
		t.Errorf("stderr has %d times %q, want once:\n%s", n, warning, r.stderr)
	}
	if strings.Contains(r.stderr, "level=WARN") {
		t.Errorf("stderr has a raw log line besides the warning:\n%s", r.stderr)
	}
	mu.Lock()
	got := strings.Join(slackTexts, "|")
	mu.Unlock()
	if want := e.stack + ": release 1 started (recreate)|" + e.stack + ": release 1 succeeded"; !strings.HasPrefix(got, want) {
		t.Errorf("slack got %q, want the start and the success (the CLI flushes before it exits)", got)
	}

	for _, args := range [][]string{{"status", e.stack, "-o", "json"}, {"history", e.stack, "-o", "json"}, {"status", "-o", "json"}} {
		out := e.mustRun(args...).stdout
		for _, secret := range []string{slackSecret, hookSecret} {
			if strings.Contains(out, secret) {
				t.Errorf("cutover %s shows %s:\n%s", strings.Join(args, " "), secret, out)
			}
		}
	}
	var st struct {
		Release struct {
			Spec struct {
				Ext struct {
					Notify struct {
						Slack   string            `json:"slack"`
						Webhook map[string]string `json:"webhook"`
					} `json:"notify"`
				} `json:"x-cutover"`
			} `json:"spec"`
		} `json:"release"`
	}
	out := e.mustRun("status", e.stack, "-o", "json").stdout
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	n := st.Release.Spec.Ext.Notify
	if n.Slack != slack.URL+"/***" || n.Webhook["url"] != "http://127.0.0.1:9/***" || n.Webhook["secret_env"] != secretEnv {
		t.Errorf("status shows notify slack %q, webhook %v; want the URLs' hosts and the variable's name", n.Slack, n.Webhook)
	}

	// confirm -o json prints the release it made final: redacted too.
	e.mustRun("deploy", "-f", file, "-p", e.stack, "--strategy", "rolling", "--image", "web="+e.image("v2", nil, true))
	if out := e.mustRun("confirm", e.stack, "-o", "json").stdout; strings.Contains(out, slackSecret) || strings.Contains(out, hookSecret) {
		t.Errorf("cutover confirm -o json shows a notification secret:\n%s", out)
	}

	s, err := store.Open(e.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rel, err := s.GetRelease(context.Background(), e.stack, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rel.Spec), slackURL) || !strings.Contains(string(rel.Spec), hookURL) {
		t.Errorf("the release record lost the real URLs:\n%s", rel.Spec)
	}
}
