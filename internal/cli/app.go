package cli

import (
	"fmt"

	"github.com/cutover/cutover/internal/store"
)

func (g *globals) openStore() (*store.Store, error) {
	s, err := store.Open(g.resolveStateDir())
	if err != nil {
		return nil, envError{fmt.Errorf("opening state dir: %w", err)}
	}
	return s, nil
}
