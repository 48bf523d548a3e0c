package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactSpec_HidesNotifySecrets(t *testing.T) {
	st := loadYAML(t, `
x-cutover:
  notify:
    slack: http://127.0.0.1:47998/services/SLACKPATHSECRET
    webhook:
      url: https://user:USERINFOSECRET@ci.example.com/fail/WEBHOOKPATHSECRET?token=QUERYSECRET
      secret_env: QA2_NOTIFY_SECRET
    email:
      to: [ops@example.com]
      smtp: smtp.example.com:587
      username: cutover
      password_env: SMTP_PASSWORD
services:
  web:
    image: myorg/web:1.4.3
`)
	spec, err := st.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	recorded := bytes.Clone(spec)
	shown := RedactSpec(spec)

	for _, secret := range []string{"SLACKPATHSECRET", "WEBHOOKPATHSECRET", "USERINFOSECRET", "QUERYSECRET"} {
		if bytes.Contains(shown, []byte(secret)) {
			t.Errorf("redacted spec shows %s:\n%s", secret, shown)
		}
	}
	var model struct {
		Services map[string]any `json:"services"`
		Ext      struct {
			Notify struct {
				Slack   string            `json:"slack"`
				Webhook map[string]string `json:"webhook"`
				Email   map[string]any    `json:"email"`
			} `json:"notify"`
		} `json:"x-cutover"`
	}
	if err := json.Unmarshal(shown, &model); err != nil {
		t.Fatalf("redacted spec is not JSON: %v\n%s", err, shown)
	}
	n := model.Ext.Notify
	if n.Slack != "http://127.0.0.1:47998/***" || n.Webhook["url"] != "https://ci.example.com/***" {
		t.Errorf("slack %q, webhook url %q: want scheme and host, then /***", n.Slack, n.Webhook["url"])
	}
	// Variable names are not secrets: they say what to set.
	if n.Webhook["secret_env"] != "QA2_NOTIFY_SECRET" || n.Email["password_env"] != "SMTP_PASSWORD" ||
		n.Email["username"] != "cutover" || n.Email["smtp"] != "smtp.example.com:587" {
		t.Errorf("redaction hid what is not secret: webhook %v, email %v", n.Webhook, n.Email)
	}
	if _, ok := model.Services["web"]; !ok {
		t.Errorf("redacted spec lost the services:\n%s", shown)
	}

	// The record keeps the real values: a redeploy from it notifies the
	// real URLs.
	if !bytes.Equal(spec, recorded) {
		t.Fatal("RedactSpec changed the spec it was given")
	}
	back, err := LoadSpec(context.Background(), st.Name, st.WorkingDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Ext.Notify.Slack.URL; got != "http://127.0.0.1:47998/services/SLACKPATHSECRET" {
		t.Errorf("recorded spec's slack URL = %q", got)
	}
}

func TestRedactSpec_InlinePasswordAndShortForms(t *testing.T) {
	// No block takes a password inline today; a spec recorded with one
	// (by a later version, or edited) must not show it either.
	spec := json.RawMessage(`{"name":"shop","x-cutover":{"notify":{"webhook":"https://ci.example.com/hooks/TOKEN1",` +
		`"slack":{"url_env":"SLACK_URL"},"email":{"to":["ops@example.com"],"password":"HUNTER2","api_token":"TOKEN2"}}}}`)
	shown := string(RedactSpec(spec))
	for _, secret := range []string{"TOKEN1", "HUNTER2", "TOKEN2"} {
		if strings.Contains(shown, secret) {
			t.Errorf("redacted spec shows %s: %s", secret, shown)
		}
	}
	for _, kept := range []string{`"url_env":"SLACK_URL"`, `"webhook":"https://ci.example.com/***"`, `"to":["ops@example.com"]`} {
		if !strings.Contains(shown, kept) {
			t.Errorf("redacted spec lacks %s: %s", kept, shown)
		}
	}
}

func TestRedactSpec_WithoutSecrets(t *testing.T) {
	plain := json.RawMessage(`{"name":"shop","services":{"web":{"image":"web:1"}},"x-cutover":{"strategy":"rolling"}}`)
	if got := RedactSpec(plain); !bytes.Equal(got, plain) {
		t.Errorf("a spec without a notify block changed: %s", got)
	}
	if got := RedactSpec(nil); got != nil {
		t.Errorf("RedactSpec(nil) = %s", got)
	}
	// What cannot be read cannot be shown safely.
	if got := RedactSpec(json.RawMessage(`"https://hooks.slack.com/services/T/B/X"`)); got != nil {
		t.Errorf("a spec that is not an object came back: %s", got)
	}
}

// Environment variables whose name says credential are hidden in what
// status and the API show; the others, and the record, keep their values.
func TestRedactSpec_HidesSecretEnvironment(t *testing.T) {
	st := loadYAML(t, `
services:
  web:
    image: myorg/web:1.4.3
    environment:
      DB_PASSWORD: hunter2
      STRIPE_API_KEY: sk_live_ENVSECRET
      AWS_SECRET_ACCESS_KEY: AWSENVSECRET
      GITHUB_TOKEN: ghp_TOKENSECRET
      LOG_LEVEL: debug
      DB_HOST: db
`)
	spec, err := st.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	shown := RedactSpec(spec)
	for _, secret := range []string{"hunter2", "ENVSECRET", "AWSENVSECRET", "TOKENSECRET"} {
		if bytes.Contains(shown, []byte(secret)) {
			t.Errorf("redacted spec shows %s:\n%s", secret, shown)
		}
	}
	var model struct {
		Services map[string]struct {
			Environment map[string]*string `json:"environment"`
		} `json:"services"`
	}
	if err := json.Unmarshal(shown, &model); err != nil {
		t.Fatal(err)
	}
	env := model.Services["web"].Environment
	for k, want := range map[string]string{"DB_PASSWORD": "***", "STRIPE_API_KEY": "***", "AWS_SECRET_ACCESS_KEY": "***",
		"GITHUB_TOKEN": "***", "LOG_LEVEL": "debug", "DB_HOST": "db"} {
		if got := env[k]; got == nil || *got != want {
			t.Errorf("environment %s shown as %v, want %q", k, got, want)
		}
	}
	if !bytes.Contains(spec, []byte("hunter2")) {
		t.Error("the recorded spec lost its values")
	}
}
