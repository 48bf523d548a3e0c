package compose

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/notify"
)

func TestLoad_NotifyBlocks(t *testing.T) {
	st := loadYAML(t, `
name: shop
x-cutover:
  notify:
    on: [failure, rollback]
    slack: {url_env: SLACK_URL}
    webhook:
      url: http://127.0.0.1:9999/hook
      secret_env: HOOK_SECRET
      on: [start, success, failure, rollback]
    email: {to: ops@example.com, smtp: "smtp.example.com:587", username: cutover, password_env: SMTP_PASSWORD}
services:
  web: {image: web}
`)
	want := &Notify{
		On:      []string{"failure", "rollback"},
		Slack:   &notify.SlackConfig{URLEnv: "SLACK_URL"},
		Webhook: &notify.WebhookConfig{URL: "http://127.0.0.1:9999/hook", SecretEnv: "HOOK_SECRET", On: []string{"start", "success", "failure", "rollback"}},
		Email:   &notify.EmailConfig{To: []string{"ops@example.com"}, SMTP: "smtp.example.com:587", Username: "cutover", PasswordEnv: "SMTP_PASSWORD"},
	}
	if !reflect.DeepEqual(st.Ext.Notify, want) {
		t.Errorf("notify = %+v, want %+v", st.Ext.Notify, want)
	}
}

// The short forms and the blocks mix; the spec a release records keeps the
// file's shape and loads back to the same block (the daemon reads it so).
func TestLoad_NotifyShortFormsSurviveTheSpec(t *testing.T) {
	st := loadYAML(t, `
name: shop
x-cutover:
  notify:
    slack: https://hooks.slack.com/services/T/B/X
    email: "ops@example.com, dev@example.com"
    webhook: {url_env: HOOK_URL}
services:
  web: {image: web}
`)
	want := &Notify{
		Slack:   &notify.SlackConfig{URL: "https://hooks.slack.com/services/T/B/X"},
		Webhook: &notify.WebhookConfig{URLEnv: "HOOK_URL"},
		Email:   &notify.EmailConfig{To: []string{"ops@example.com", "dev@example.com"}},
	}
	if !reflect.DeepEqual(st.Ext.Notify, want) {
		t.Fatalf("notify = %+v, want %+v", st.Ext.Notify, want)
	}
	spec, err := st.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadRemote(context.Background(), "shop", st.WorkingDir(), st.ConfigFiles(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Ext.Notify, want) {
		t.Errorf("notify from the spec = %+v, want %+v", back.Ext.Notify, want)
	}
}

func TestLoad_TriggerSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		stack   string
		service string
		want    []string
	}{
		{desc: "watch policy unknown", service: `{watch: {tags: "^1.4"}}`,
			want: []string{"services.web.x-cutover.watch.tags", `"^1.4"`, `semver:^1.4`}},
		{desc: "watch range invalid", service: `{watch: {tags: "semver:latest"}}`,
			want: []string{"services.web.x-cutover.watch.tags", "not a semver range"}},
		{desc: "notify event unknown", stack: `{notify: {on: [failed], slack: {url_env: S}}}`,
			want: []string{"x-cutover.notify.on", `unknown event "failed"`}},
		{desc: "notify url and url_env", stack: `{notify: {slack: {url: "https://hooks.slack.com/x", url_env: S}}}`,
			want: []string{"x-cutover.notify.slack", "either url or url_env"}},
		{desc: "notify plain http", stack: `{notify: {webhook: "http://hooks.example.com/secret"}}`,
			want: []string{"x-cutover.notify.webhook", "use https", "http://hooks.example.com/***"}},
		{desc: "notify unknown sink key", stack: `{notify: {slack: {urlenv: S}}}`,
			want: []string{"x-cutover.notify.slack.urlenv", "unknown field"}},
		{desc: "notify without a sink", stack: `{notify: {on: [failure]}}`,
			want: []string{"x-cutover.notify", "configure slack, webhook or email"}},
		{desc: "hooks env name", stack: `{hooks: {github_secret_env: "s3cr3t value"}}`,
			want: []string{"x-cutover.hooks.github_secret_env", "not an environment variable name"}},
		{desc: "hooks unknown key", stack: `{hooks: {github_secret: x}}`,
			want: []string{"x-cutover.hooks.github_secret", "unknown field"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("name: shop\n")
			if tc.stack != "" {
				b.WriteString("x-cutover: " + tc.stack + "\n")
			}
			b.WriteString("services:\n  web:\n    image: web\n")
			if tc.service != "" {
				b.WriteString("    x-cutover: " + tc.service + "\n")
			}
			dir := t.TempDir()
			f := writeFile(t, dir, "stack.yaml", b.String())
			err := loadErr(t, LoadOptions{Files: []string{f}})
			for _, w := range append([]string{"stack.yaml"}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestServiceExtension_WatchPolicy(t *testing.T) {
	st := loadYAML(t, `
name: shop
services:
  web: {image: "myorg/web:1.4.2", x-cutover: {watch: {tags: "semver:^1.4"}}}
  worker: {image: "myorg/worker:qa"}
`)
	if p := st.Services["web"].WatchPolicy(); !p.Accepts("1.4.2", "1.5.0") || p.Accepts("1.4.2", "2.0.0") {
		t.Errorf("web's policy %s: want semver:^1.4", p)
	}
	if p := st.Services["worker"].WatchPolicy(); !p.Accepts("qa", "qa") || p.Accepts("qa", "staging") {
		t.Errorf("worker's policy %s: want exact", p)
	}
}
