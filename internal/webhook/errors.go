package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Sentinel errors. Every error a parser or the Receiver returns wraps one of
// them; StatusCode maps them to HTTP status codes.
var (
	// ErrUnauthorized: the request did not prove it knows the secret (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrBadPayload: the body is not a notification cutover understands (400).
	ErrBadPayload = errors.New("bad payload")
	// ErrTooLarge: the body is over the size limit (413). It wraps
	// ErrBadPayload.
	ErrTooLarge = fmt.Errorf("%w: body too large", ErrBadPayload)
	// ErrIgnored: a valid notification with nothing to deploy (a blob push,
	// an untagged manifest, a ping …); answer 2xx so the sender does not
	// retry. The error's text says why.
	ErrIgnored = errors.New("ignored")
)

// ignored returns an ErrIgnored error giving the reason.
func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrIgnored, fmt.Sprintf(format, args...))
}

// badPayload returns an ErrBadPayload error naming what is wrong.
func badPayload(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadPayload, fmt.Sprintf(format, args...))
}

// StatusCode is the HTTP status to answer a notification with, given what
// parsing it returned: 202 when it was accepted (nil), 200 when ignored,
// 401, 413, 400, and 500 for anything else.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusAccepted
	case errors.Is(err, ErrIgnored):
		return http.StatusOK
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBadPayload):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// clip shortens a value from a payload for an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
