package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DefaultMaxBody is the body size limit when none is configured: 1 MiB, far
// above any real notification (GitHub's package events are the largest, a
// few tens of KiB).
const DefaultMaxBody int64 = 1 << 20

// ReadBody reads a request body of at most limit bytes (DefaultMaxBody when
// limit <= 0) with http.MaxBytesReader semantics: past the limit it stops
// reading, tells the server to close the connection (when w is the real
// ResponseWriter) and returns an error wrapping ErrTooLarge. An empty body
// is an ErrBadPayload.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, the limit is %d bytes", ErrTooLarge, r.ContentLength, limit)
	}
	if r.Body == nil {
		return nil, badPayload("empty body")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, limit)
	case err != nil:
		return nil, badPayload("reading the body: %v", err)
	case len(body) == 0:
		return nil, badPayload("empty body")
	}
	return body, nil
}

// decodeJSON decodes one JSON object from body into v. Unknown fields are an
// error only when strict (cutover's own generic format); the senders' formats
// grow new fields over time. Errors name the field at fault.
func decodeJSON(body []byte, v any, strict bool) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return badPayload("empty body")
	}
	if trimmed[0] != '{' {
		return badPayload("the body must be a JSON object, it starts with %q", clip(string(trimmed[:min(len(trimmed), 16)])))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return badPayload("%s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badPayload("unexpected data after the JSON object (at byte %d)", dec.InputOffset())
	}
	return nil
}

// describeJSONError turns encoding/json's errors into messages naming the
// field, without echoing values.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(the body)"
		}
		want := jsonKind(typ.Type.Kind().String())
		if typ.Type.String() == "json.Number" {
			want = "a number"
		}
		return fmt.Sprintf("%s: want %s, got a JSON %s", field, want, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "invalid JSON: " + err.Error()
}

// jsonKind names a Go kind the way a JSON sender thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	}
	return "a number"
}
