package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, for errors.Is. The errors Digest returns wrap them with a
// message that names the registry, the repository and the tag.
var (
	// ErrNotFound: the registry has no such tag (or no such repository).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry asks for credentials, refused the ones
	// configured, or denied access.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRateLimited: the registry answered 429; see RateLimitError.
	ErrRateLimited = errors.New("rate limited")
)

// Error is a registry answer Digest could not turn into a digest. Kind is
// one of the sentinel errors (or nil for other answers); Message says what
// happened in words a user can act on.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// RateLimitError is returned when a registry (or its token server) answers
// 429 Too Many Requests. Digest does not retry it: a periodic checker should
// wait RetryAfter (zero when the registry did not say) before asking again.
type RateLimitError struct {
	// Registry is the registry host as written in the image reference.
	Registry string
	// RetryAfter is the wait the registry asked for in its Retry-After
	// header, or zero.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("registry %s is rate limiting requests (429 Too Many Requests); retry after %s", e.Registry, e.RetryAfter)
	}
	return fmt.Sprintf("registry %s is rate limiting requests (429 Too Many Requests)", e.Registry)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// rateLimitError builds a RateLimitError from a 429 response.
func rateLimitError(host string, resp *http.Response, now time.Time) *RateLimitError {
	return &RateLimitError{Registry: host, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
