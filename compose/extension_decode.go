package compose

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/loader"
)

// The x-cutover blocks are decoded with compose-go's own transform (yaml
// tags and compose's hooks, so "30s" becomes a Duration). cli.WithExtension
// cannot be used: it applies one Go type to every x-cutover key in the file,
// and the stack and service blocks have different shapes.

func decodeStackExtension(raw any) (StackExtension, error) {
	return decodeExtension[StackExtension](raw)
}

func decodeServiceExtension(raw any) (ServiceExtension, error) {
	return decodeExtension[ServiceExtension](raw)
}

func decodeExtension[T any](raw any) (T, error) {
	var ext T
	if raw == nil {
		return ext, nil
	}
	if _, ok := raw.(map[string]any); !ok {
		return ext, fmt.Errorf("must be a mapping, got %T", raw)
	}
	if err := loader.Transform(raw, &ext); err != nil {
		return ext, err
	}
	return ext, nil
}
