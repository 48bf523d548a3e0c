package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine/docker"
	"github.com/cutover/cutover/internal/store"
)

// app is what a command that touches the engine needs.
type app struct {
	engine   *docker.Engine
	store    *store.Store
	deployer *deploy.Deployer
}

func (g *globals) openStore() (*store.Store, error) {
	s, err := store.Open(g.resolveStateDir())
	if err != nil {
		return nil, envError{fmt.Errorf("opening state dir: %w", err)}
	}
	return s, nil
}

// openApp connects to the engine and opens the store.
func (g *globals) openApp(ctx context.Context, obs deploy.Observer) (*app, error) {
	s, err := g.openStore()
	if err != nil {
		return nil, err
	}
	eng, err := docker.New(ctx, docker.WithPingTimeout(10*time.Second))
	if err != nil {
		return nil, envError{err}
	}
	return &app{engine: eng, store: s, deployer: &deploy.Deployer{
		Engine: eng, Store: s, Observer: obs, Logger: g.logger(),
	}}, nil
}

func (a *app) close() {
	a.engine.Close()
	a.store.Close()
}

// appWithStore is a deployer for commands that need only the store.
func appWithStore(g *globals, s *store.Store) *deploy.Deployer {
	return &deploy.Deployer{Store: s, Logger: g.logger()}
}
