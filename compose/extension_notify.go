package compose

import (
	"fmt"
	"maps"
	"slices"

	"github.com/compose-spec/compose-go/v2/loader"

	"github.com/cutover/cutover/internal/notify"
)

// Notify is the stack-level x-cutover.notify block: where release
// notifications go (docs/notifications.md). Each sink is either a string,
// the short form
//
//	notify:
//	  slack: https://hooks.slack.com/services/…   # incoming-webhook URL
//	  webhook: https://ci.example.com/hooks/cutover
//	  email: ops@example.com, dev@example.com     # via localhost:25
//
// or a block with notify.Config's fields (url_env, secret_env, on, smtp …).
// It is notify.Config, with the decoding of those short forms.
type Notify notify.Config

// Config is the block as the notify package takes it.
func (n Notify) Config() notify.Config {
	c := notify.Config(n)
	c.On = slices.Clone(n.On)
	return c
}

// DecodeMapstructure reads the block with its string short forms; compose-go
// calls it while decoding x-cutover.
func (n *Notify) DecodeMapstructure(value any) error {
	switch v := value.(type) {
	case *Notify: // the hook runs again on the decoded value
		*n = *v
		return nil
	case map[string]any:
		return n.decode(v)
	case nil:
		*n = Notify{}
		return nil
	}
	return fmt.Errorf("notify: must be a mapping, got %T", value)
}

func (n *Notify) decode(m map[string]any) error {
	out := Notify{}
	if raw, ok := m["on"]; ok && raw != nil {
		if err := loader.Transform(raw, &out.On); err != nil {
			return fmt.Errorf("notify.on: want a list of event kinds: %w", err)
		}
	}
	for _, key := range []string{"slack", "webhook", "email"} {
		raw, ok := m[key]
		if !ok || raw == nil {
			continue
		}
		if s, isString := raw.(string); isString {
			switch key {
			case "slack":
				out.Slack = notify.Shorthand(s, "", "").Slack
			case "webhook":
				out.Webhook = notify.Shorthand("", s, "").Webhook
			case "email":
				out.Email = notify.Shorthand("", "", s).Email
			}
			continue
		}
		if _, isMap := raw.(map[string]any); !isMap {
			return fmt.Errorf("notify.%s: want a URL (or for email, addresses) or a mapping, got %T", key, raw)
		}
		var err error
		switch key {
		case "slack":
			out.Slack = &notify.SlackConfig{}
			err = loader.Transform(raw, out.Slack)
		case "webhook":
			out.Webhook = &notify.WebhookConfig{}
			err = loader.Transform(raw, out.Webhook)
		case "email":
			out.Email = &notify.EmailConfig{}
			err = decodeEmail(raw.(map[string]any), out.Email)
		}
		if err != nil {
			return fmt.Errorf("notify.%s: %w", key, err)
		}
	}
	*n = out
	return nil
}

// decodeEmail reads the email block; `to` may be one address or a list.
func decodeEmail(m map[string]any, e *notify.EmailConfig) error {
	if to, ok := m["to"].(string); ok {
		m = maps.Clone(m)
		m["to"] = []any{to}
	}
	return loader.Transform(m, e)
}

// Validate checks the block without reading the environment: event kinds,
// url or url_env (never both), recipients, and that a URL written in the
// file is one cutover will post to (https, or http to a loopback address).
// path prefixes field names in errors.
func (n Notify) Validate(path string) error {
	cfg := n.Config()
	if cfg.Empty() {
		return fmt.Errorf("%s: configure slack, webhook or email", path)
	}
	if err := cfg.Validate(path); err != nil {
		return err
	}
	if s := cfg.Slack; s != nil && s.URL != "" {
		if _, err := notify.NewSlack(s.URL, notify.Options{}); err != nil {
			return fmt.Errorf("%s.slack: %w", path, err)
		}
	}
	if w := cfg.Webhook; w != nil && w.URL != "" {
		if _, err := notify.NewWebhook(w.URL, "", notify.Options{}); err != nil {
			return fmt.Errorf("%s.webhook: %w", path, err)
		}
	}
	for name, env := range map[string]string{"slack.url_env": envOf(cfg.Slack, func(s *notify.SlackConfig) string { return s.URLEnv }),
		"webhook.url_env":    envOf(cfg.Webhook, func(w *notify.WebhookConfig) string { return w.URLEnv }),
		"webhook.secret_env": envOf(cfg.Webhook, func(w *notify.WebhookConfig) string { return w.SecretEnv }),
		"email.password_env": envOf(cfg.Email, func(e *notify.EmailConfig) string { return e.PasswordEnv }),
	} {
		if env != "" && !isEnvName(env) {
			return fmt.Errorf("%s.%s: %q is not an environment variable name (letters, digits and _, not starting with a digit)", path, name, env)
		}
	}
	return nil
}

func envOf[T any](block *T, get func(*T) string) string {
	if block == nil {
		return ""
	}
	return get(block)
}

// isEnvName reports whether s can name an environment variable.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
