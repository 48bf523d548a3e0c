package notify

import (
	"errors"
	"strings"
	"testing"
)

func TestConfig_Errors(t *testing.T) {
	env := map[string]string{"SET": "https://hooks.slack.com/services/T/B/x"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		desc string
		cfg  Config
		want string
	}{
		{"unknown kind", Config{On: []string{"failed"}, Slack: &SlackConfig{URLEnv: "SET"}},
			`x.on: unknown event "failed" (known: start, success, failure, rollback)`},
		{"unknown sink kind", Config{Webhook: &WebhookConfig{URL: "https://h/x", On: []string{"deploy"}}},
			`x.webhook.on: unknown event "deploy"`},
		{"url and url_env", Config{Slack: &SlackConfig{URL: "https://h/x", URLEnv: "SET"}}, "x.slack: set either url or url_env"},
		{"neither", Config{Webhook: &WebhookConfig{}}, "x.webhook: set either url or url_env"},
		{"unset env", Config{Slack: &SlackConfig{URLEnv: "UNSET"}}, "x.slack.url_env: $UNSET is not set"},
		{"unset secret", Config{Webhook: &WebhookConfig{URL: "https://h/x", SecretEnv: "NOPE"}}, "x.webhook.secret_env: $NOPE is not set"},
		{"plain http", Config{Slack: &SlackConfig{URL: "http://hooks.slack.com/services/T/B/x"}},
			"x.slack: http://hooks.slack.com/***: use https"},
		{"no recipient", Config{Email: &EmailConfig{}}, "x.email.to: give at least one recipient"},
		{"user without password", Config{Email: &EmailConfig{To: []string{"a@b.c"}, Username: "u"}}, "x.email: username and password_env go together"},
		{"unset password", Config{Email: &EmailConfig{To: []string{"a@b.c"}, Username: "u", PasswordEnv: "PW"}}, "x.email.password_env: $PW is not set"},
		{"bad address", Config{Email: &EmailConfig{To: []string{"nobody"}}}, `x.email.to: "nobody" is not an email address`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			sinks, skipped := tc.cfg.Sinks("x", getenv, Options{})
			if len(sinks) != 0 || len(skipped) != 1 {
				t.Fatalf("built %d sinks, skipped %v; want none built and one error", len(sinks), skipped)
			}
			if err := skipped[0]; !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
			if strings.Contains(skipped[0].Error(), "/services/T/B/x") {
				t.Errorf("error shows a webhook secret: %v", skipped[0])
			}
		})
	}
}

func TestConfig_FiltersAndShorthand(t *testing.T) {
	cfg := Shorthand("https://hooks.slack.com/services/T/B/x", "https://ci.example.com/hook", "ops@example.com, dev@example.com")
	cfg.On = []string{KindFailure, KindRollback}
	cfg.Webhook.On = []string{KindSuccess}
	sinks, skipped := cfg.Sinks("x", func(string) string { return "" }, Options{})
	if len(skipped) > 0 {
		t.Fatal(skipped)
	}
	got := map[string][]string{}
	for _, s := range sinks {
		for _, k := range Kinds {
			if wants(s, k) {
				got[strings.Fields(s.Name())[0]] = append(got[strings.Fields(s.Name())[0]], k)
			}
		}
	}
	want := map[string]string{"slack": "failure,rollback", "webhook": "success", "email": "failure,rollback"}
	for name, kinds := range want {
		if strings.Join(got[name], ",") != kinds {
			t.Errorf("%s takes %v, want %s", name, got[name], kinds)
		}
	}
	if e := sinks[2].(*filtered).Sink.(*Email); e.s.SMTP != DefaultSMTP || len(e.to) != 2 || e.from.Address != "cutover@localhost" {
		t.Errorf("email shorthand = %+v", e.s)
	}
	if (Config{}).Empty() != true || cfg.Empty() {
		t.Error("Empty is wrong")
	}
}

// One sink whose variable is unset leaves that sink out, not the others.
func TestConfig_SkipsOnlyTheSinkThatCannotBeBuilt(t *testing.T) {
	slack := newReceiver(t)
	cfg := Config{
		Slack:   &SlackConfig{URL: slack.URL + "/services/T/B/x"},
		Webhook: &WebhookConfig{URL: "https://ci.example.com/hook", SecretEnv: "UNSET_HOOK_SECRET"},
		Email:   &EmailConfig{To: []string{"ops@example.com"}, Username: "u", PasswordEnv: "UNSET_PW"},
	}
	sinks, skipped := cfg.Sinks("x-cutover.notify", func(string) string { return "" }, testOptions(nil))
	want := map[string]string{
		"webhook": "x-cutover.notify.webhook.secret_env: $UNSET_HOOK_SECRET is not set",
		"email":   "x-cutover.notify.email.password_env: $UNSET_PW is not set",
	}
	if len(skipped) != len(want) {
		t.Fatalf("skipped %v, want webhook and email", skipped)
	}
	for _, err := range skipped {
		var se *SinkError
		if !errors.As(err, &se) || want[se.Sink] != err.Error() {
			t.Errorf("skipped %T %q, want a *SinkError of %v", err, err, want)
		}
	}
	if len(sinks) != 1 || !strings.HasPrefix(sinks[0].Name(), "slack ") {
		t.Fatalf("built %d sinks, want slack alone", len(sinks))
	}
	n := New(sinks, testOptions(nil))
	n.Notify(Event{Kind: KindStart, Stack: "hello", Release: 1})
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(slack.requests()); got != 1 {
		t.Errorf("slack got %d messages, want the start", got)
	}
}
