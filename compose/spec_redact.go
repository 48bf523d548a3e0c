package compose

import (
	"encoding/json"
	"strings"

	"github.com/cutover/cutover/internal/notify"
)

// RedactSpec returns a copy of a recorded release spec (Stack.Spec) that is
// safe to show: status, history and the daemon's API return specs, and the
// x-cutover.notify block may carry secrets written inline — a Slack
// incoming-webhook URL's path is its credential, generic webhook URLs often
// carry a token. Each URL keeps its scheme and host
// (http://127.0.0.1:47998/***, as the logs show it); a password, secret or
// token given inline becomes "***". *_env fields name variables and stay.
// Service environment variables whose name says they hold a credential
// (DB_PASSWORD, API_TOKEN, AWS_SECRET_ACCESS_KEY …) show "***" too: status
// -o json ends up in CI logs.
//
// The release record itself keeps the real values: redeploys, rollback --to
// and the daemon's notifiers need them. A spec that is not a JSON object is
// returned as nil rather than risk showing what it holds.
func RedactSpec(spec json.RawMessage) json.RawMessage {
	if len(spec) == 0 {
		return spec
	}
	var model map[string]any
	if err := json.Unmarshal(spec, &model); err != nil || model == nil {
		return nil
	}
	redactEnvironment(model)
	ext, _ := model[ExtensionKey].(map[string]any)
	block, _ := ext["notify"].(map[string]any)
	for key, sink := range block {
		switch key {
		case "slack", "webhook":
			block[key] = redactSink(sink, true)
		case "email":
			block[key] = redactSink(sink, false)
		}
	}
	out, err := json.Marshal(model)
	if err != nil {
		return nil
	}
	return out
}

// redactSink redacts one sink of the notify block, in either of its forms:
// the short string (a URL for slack and webhook; recipients for email,
// which are not secret) or a mapping.
func redactSink(sink any, isURL bool) any {
	switch v := sink.(type) {
	case string:
		if isURL {
			return notify.RedactURL(v)
		}
		return v
	case map[string]any:
		for k, val := range v {
			s, ok := val.(string)
			if !ok || s == "" {
				continue
			}
			switch {
			case strings.HasSuffix(k, "_env"):
				// A variable's name, not its value.
			case k == "url":
				v[k] = notify.RedactURL(s)
			case secretKey(k):
				v[k] = "***"
			}
		}
	}
	return sink
}

// redactEnvironment replaces the values of the services' environment
// variables that secretKey names a credential.
func redactEnvironment(model map[string]any) {
	services, _ := model["services"].(map[string]any)
	for _, svc := range services {
		m, _ := svc.(map[string]any)
		env, _ := m["environment"].(map[string]any)
		for k, v := range env {
			if v != nil && secretKey(strings.ToLower(k)) {
				env[k] = "***"
			}
		}
	}
}

// secretKey reports whether a field (lower case) would hold a credential.
// x-cutover blocks take credentials only by variable (*_env), so there it
// guards against fields a future block might add; in environment it is
// what the name of a variable says.
func secretKey(k string) bool {
	for _, w := range []string{"password", "passwd", "secret", "token", "credential", "api_key", "apikey", "private_key", "access_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
