package compose

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/go-viper/mapstructure/v2"
)

// The x-cutover blocks are decoded with compose-go's own transform (yaml
// tags and compose's hooks, so "30s" becomes a Duration). cli.WithExtension
// cannot be used: it applies one Go type to every x-cutover key in the file,
// and the stack and service blocks have different shapes.

// decodeStackExtension decodes the stack's block; errors name the field
// from path (x-cutover) down.
func decodeStackExtension(raw any, path string) (StackExtension, error) {
	return decodeExtension[StackExtension](raw, path)
}

func decodeServiceExtension(raw any, path string) (ServiceExtension, error) {
	return decodeExtension[ServiceExtension](raw, path)
}

func decodeExtension[T any](raw any, path string) (T, error) {
	var ext T
	if raw == nil {
		return ext, nil
	}
	if _, ok := raw.(map[string]any); !ok {
		return ext, fmt.Errorf("%s: must be a mapping, got %s", path, yamlKind(raw))
	}
	if err := loader.Transform(raw, &ext); err != nil {
		return ext, fieldErrors(path, err)
	}
	return ext, nil
}

// fieldErrors rewrites the decoder's errors ("decoding failed due to the
// following error(s): 'rolling.batch_size' strconv.Atoi: parsing "two":
// invalid syntax") as the user wrote the field: path.field: want …, got ….
func fieldErrors(path string, err error) error {
	var fields []*mapstructure.DecodeError
	var walk func(error)
	walk = func(e error) {
		var de *mapstructure.DecodeError
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(e, &de) {
				fields = append(fields, de)
			}
		}
	}
	walk(err)
	if len(fields) == 0 {
		return fmt.Errorf("%s: %w", path, err)
	}
	msgs := make([]string, 0, len(fields))
	for _, de := range fields {
		msgs = append(msgs, path+"."+de.Name()+": "+describeDecode(de.Unwrap()))
	}
	return errors.New(strings.Join(msgs, "; "))
}

// describeDecode says what a field wanted and got.
func describeDecode(err error) string {
	var num *strconv.NumError
	var conv *mapstructure.UnconvertibleTypeError
	switch {
	case errors.As(err, &num):
		want := "a whole number"
		switch num.Func {
		case "ParseFloat":
			want = "a number"
		case "ParseBool":
			want = "true or false"
		}
		return fmt.Sprintf("want %s, got %q", want, num.Num)
	case errors.As(err, &conv):
		return fmt.Sprintf("want %s, got %s", conv.Expected.Type(), yamlKind(conv.Value))
	}
	return err.Error()
}

// yamlKind names a decoded YAML value's kind, with the value when short.
func yamlKind(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("%q", x)
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v", v)
}
