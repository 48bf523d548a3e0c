package notify

import (
	"fmt"
	"slices"
	"strings"
)

// Config is the proposed shape of compose's `x-cutover.notify` block:
//
//	notify:
//	  on: [failure, rollback]          # kinds for every sink (default: all)
//	  slack:
//	    url_env: SLACK_WEBHOOK_URL     # or url: https://hooks.slack.com/services/…
//	  webhook:
//	    url: https://ci.example.com/hooks/cutover
//	    secret_env: CUTOVER_WEBHOOK_SECRET
//	    on: [start, success, failure, rollback]
//	  email:
//	    to: [ops@example.com]
//	    from: cutover@example.com
//	    smtp: smtp.example.com:587
//	    username: cutover
//	    password_env: SMTP_PASSWORD
//
// Secrets are named by environment variable (`*_env`) and read when the
// sinks are built, so they stay out of compose files and release records.
type Config struct {
	On      []string       `yaml:"on,omitempty" json:"on,omitempty"`
	Slack   *SlackConfig   `yaml:"slack,omitempty" json:"slack,omitempty"`
	Webhook *WebhookConfig `yaml:"webhook,omitempty" json:"webhook,omitempty"`
	Email   *EmailConfig   `yaml:"email,omitempty" json:"email,omitempty"`
}

// SlackConfig is the Slack sink: url or url_env (the URL is a secret).
type SlackConfig struct {
	URL    string   `yaml:"url,omitempty" json:"url,omitempty"`
	URLEnv string   `yaml:"url_env,omitempty" json:"url_env,omitempty"`
	On     []string `yaml:"on,omitempty" json:"on,omitempty"`
}

// WebhookConfig is the generic webhook sink.
type WebhookConfig struct {
	URL       string   `yaml:"url,omitempty" json:"url,omitempty"`
	URLEnv    string   `yaml:"url_env,omitempty" json:"url_env,omitempty"`
	SecretEnv string   `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	On        []string `yaml:"on,omitempty" json:"on,omitempty"`
}

// EmailConfig is the email sink.
type EmailConfig struct {
	To          []string `yaml:"to,omitempty" json:"to,omitempty"`
	From        string   `yaml:"from,omitempty" json:"from,omitempty"`
	SMTP        string   `yaml:"smtp,omitempty" json:"smtp,omitempty"`
	Username    string   `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordEnv string   `yaml:"password_env,omitempty" json:"password_env,omitempty"`
	TLS         string   `yaml:"tls,omitempty" json:"tls,omitempty"`
	On          []string `yaml:"on,omitempty" json:"on,omitempty"`
}

// Defaults of the email sink.
const (
	DefaultSMTP = "localhost:25"
	DefaultFrom = "cutover@localhost"
)

// Shorthand builds a Config from today's `x-cutover.notify` strings:
// slack and webhook URLs, and email as comma-separated recipients sent
// through localhost:25. Empty strings configure nothing.
func Shorthand(slack, webhook, email string) Config {
	var c Config
	if slack != "" {
		c.Slack = &SlackConfig{URL: slack}
	}
	if webhook != "" {
		c.Webhook = &WebhookConfig{URL: webhook}
	}
	if email != "" {
		var to []string
		for _, a := range strings.Split(email, ",") {
			if a = strings.TrimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		c.Email = &EmailConfig{To: to}
	}
	return c
}

// Empty reports whether no sink is configured.
func (c Config) Empty() bool { return c.Slack == nil && c.Webhook == nil && c.Email == nil }

// Validate checks the configuration without reading the environment;
// path prefixes field names in errors ("x-cutover.notify").
func (c Config) Validate(path string) error {
	if err := checkKinds(path+".on", c.On); err != nil {
		return err
	}
	if s := c.Slack; s != nil {
		if err := checkSource(path+".slack", s.URL, s.URLEnv); err != nil {
			return err
		}
		if err := checkKinds(path+".slack.on", s.On); err != nil {
			return err
		}
	}
	if w := c.Webhook; w != nil {
		if err := checkSource(path+".webhook", w.URL, w.URLEnv); err != nil {
			return err
		}
		if err := checkKinds(path+".webhook.on", w.On); err != nil {
			return err
		}
	}
	if e := c.Email; e != nil {
		if len(e.To) == 0 {
			return fmt.Errorf("%s.email.to: give at least one recipient", path)
		}
		if (e.Username == "") != (e.PasswordEnv == "") {
			return fmt.Errorf("%s.email: username and password_env go together", path)
		}
		if err := checkKinds(path+".email.on", e.On); err != nil {
			return err
		}
	}
	return nil
}

// SinkError says why one configured sink was left out: its
// configuration could not be completed (an unset *_env variable, a URL
// cutover will not post to). The message names the field:
// "x-cutover.notify.webhook.secret_env: $SECRET is not set".
type SinkError struct {
	// Sink is "slack", "webhook" or "email".
	Sink string
	Err  error
}

func (e *SinkError) Error() string { return e.Err.Error() }
func (e *SinkError) Unwrap() error { return e.Err }

// Sinks builds the configured sinks one by one, reading secrets with
// getenv (os.Getenv in the daemon); path prefixes field names in errors. A
// sink whose configuration cannot be completed is left out and explained
// by a *SinkError in skipped: the others are built, so one unset variable
// does not silence every sink of a stack. A configuration that fails
// Validate builds nothing.
func (c Config) Sinks(path string, getenv func(string) string, opts Options) (sinks []Sink, skipped []error) {
	if err := c.Validate(path); err != nil {
		return nil, []error{err}
	}
	kinds := func(own []string) []string {
		if len(own) > 0 {
			return own
		}
		return c.On
	}
	add := func(name string, own []string, build func() (Sink, error)) {
		sink, err := build()
		if err != nil {
			skipped = append(skipped, &SinkError{Sink: name, Err: err})
			return
		}
		sinks = append(sinks, Only(sink, kinds(own)...))
	}
	if s := c.Slack; s != nil {
		add("slack", s.On, func() (Sink, error) {
			url, err := resolve(path+".slack", s.URL, s.URLEnv, getenv)
			if err != nil {
				return nil, err
			}
			sink, err := NewSlack(url, opts)
			if err != nil {
				return nil, fmt.Errorf("%s.slack: %w", path, err)
			}
			return sink, nil
		})
	}
	if w := c.Webhook; w != nil {
		add("webhook", w.On, func() (Sink, error) {
			url, err := resolve(path+".webhook", w.URL, w.URLEnv, getenv)
			if err != nil {
				return nil, err
			}
			secret := ""
			if w.SecretEnv != "" {
				if secret = getenv(w.SecretEnv); secret == "" {
					return nil, fmt.Errorf("%s.webhook.secret_env: $%s is not set", path, w.SecretEnv)
				}
			}
			sink, err := NewWebhook(url, secret, opts)
			if err != nil {
				return nil, fmt.Errorf("%s.webhook: %w", path, err)
			}
			return sink, nil
		})
	}
	if e := c.Email; e != nil {
		add("email", e.On, func() (Sink, error) {
			s := EmailSettings{From: e.From, To: e.To, SMTP: e.SMTP, Username: e.Username, TLS: e.TLS}
			if s.From == "" {
				s.From = DefaultFrom
			}
			if s.SMTP == "" {
				s.SMTP = DefaultSMTP
			}
			if e.PasswordEnv != "" {
				if s.Password = getenv(e.PasswordEnv); s.Password == "" {
					return nil, fmt.Errorf("%s.email.password_env: $%s is not set", path, e.PasswordEnv)
				}
			}
			sink, err := NewEmail(s, opts)
			if err != nil {
				return nil, fmt.Errorf("%s.email.%w", path, err)
			}
			return sink, nil
		})
	}
	return sinks, skipped
}

func checkKinds(path string, kinds []string) error {
	for _, k := range kinds {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("%s: unknown event %q (known: %s)", path, k, strings.Join(Kinds, ", "))
		}
	}
	return nil
}

func checkSource(path, url, env string) error {
	if (url == "") == (env == "") {
		return fmt.Errorf("%s: set either url or url_env", path)
	}
	return nil
}

func resolve(path, url, env string, getenv func(string) string) (string, error) {
	if url != "" {
		return url, nil
	}
	if v := getenv(env); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s.url_env: $%s is not set", path, env)
}
