package notify

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL returns a webhook URL safe to log: scheme and host, with any
// path and query replaced by "***". Slack incoming-webhook URLs carry
// their secret in the path, and generic webhooks often do too.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/***"
	}
	return s
}

// scrubURLError replaces a *url.Error, which quotes the full URL, by its
// cause prefixed with the redacted URL, and makes sure the raw URL appears
// nowhere in the message.
func scrubURLError(err error, method, raw string) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	msg := err.Error()
	if raw != "" && strings.Contains(msg, raw) {
		return errors.New(method + " " + RedactURL(raw) + ": " + strings.ReplaceAll(msg, raw, RedactURL(raw)))
	}
	return &redactedError{prefix: method + " " + RedactURL(raw) + ": ", err: err}
}

// redactedError keeps the cause (for errors.Is) under a safe message.
type redactedError struct {
	prefix string
	err    error
}

func (e *redactedError) Error() string { return e.prefix + e.err.Error() }
func (e *redactedError) Unwrap() error { return e.err }
