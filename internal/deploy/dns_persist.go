package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/lb"
	"github.com/cutover/cutover/lb/dns"
)

// DNSBackend is what PersistentDNS wraps: *dns.Server or *dns.Updater.
type DNSBackend interface {
	DNSRouter
	Snapshot() []dns.RouteState
	Restore(states []dns.RouteState) error
}

var (
	_ DNSBackend = (*dns.Server)(nil)
	_ DNSBackend = (*dns.Updater)(nil)
)

// PersistentDNS is a dns router backend whose routes (targets and split)
// are written to the store after every change, under its backend name, and
// restored from it when it is made: the built-in server of a restarted
// daemon answers as before, and an RFC 2136 updater built in a new cutover
// process knows each route's targets (the server's records cannot tell the
// ports).
type PersistentDNS struct {
	DNSBackend
	store   *store.Store
	backend string
	log     *slog.Logger
}

// NewPersistentDNS wraps r, restoring the routes the store holds for
// backend. A stored route r refuses (a host outside a zone that changed) is
// logged and left out. A nil store persists nothing.
func NewPersistentDNS(ctx context.Context, r DNSBackend, s *store.Store, backend string, log *slog.Logger) (*PersistentDNS, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PersistentDNS{DNSBackend: r, store: s, backend: backend, log: log.With("backend", backend)}
	if s == nil {
		return p, nil
	}
	recs, err := s.ListDNSRoutes(ctx, backend)
	if err != nil {
		return nil, fmt.Errorf("reading dns routes: %w", err)
	}
	var states []dns.RouteState
	for _, rec := range recs {
		var st dns.RouteState
		if err := json.Unmarshal(rec.State, &st); err != nil {
			p.log.Error("dns route not restored: bad record", "route", rec.Name, "error", err)
			continue
		}
		states = append(states, st)
	}
	if err := r.Restore(states); err != nil {
		// Restore is all or nothing: keep the routes it takes one by one.
		var good []dns.RouteState
		for _, st := range states {
			if err := r.Restore(append(good, st)); err != nil {
				p.log.Error("dns route not restored", "route", st.Route.Name, "error", err)
				continue
			}
			good = append(good, st)
		}
		if err := r.Restore(good); err != nil {
			return nil, fmt.Errorf("restoring dns routes: %w", err)
		}
	}
	for _, st := range r.Snapshot() {
		p.log.Info("dns route restored", "route", st.Route.Name, "host", st.Route.Host, "targets", st.Targets)
	}
	return p, nil
}

// EnsureRoute creates or updates the route, then saves it.
func (p *PersistentDNS) EnsureRoute(ctx context.Context, r lb.Route) error {
	err := p.DNSBackend.EnsureRoute(ctx, r)
	return errors.Join(err, p.save(ctx, r.Name))
}

// RemoveRoute removes the route, then forgets it.
func (p *PersistentDNS) RemoveRoute(ctx context.Context, name string) error {
	err := p.DNSBackend.RemoveRoute(ctx, name)
	return errors.Join(err, p.save(ctx, name))
}

// SetTargets switches the route, then saves what it answers.
func (p *PersistentDNS) SetTargets(ctx context.Context, name string, addrs []string) error {
	err := p.DNSBackend.SetTargets(ctx, name, addrs)
	return errors.Join(err, p.save(ctx, name))
}

// SetSplit splits the route, then saves what it answers.
func (p *PersistentDNS) SetSplit(ctx context.Context, name string, s lb.Split) error {
	err := p.DNSBackend.SetSplit(ctx, name, s)
	return errors.Join(err, p.save(ctx, name))
}

// save writes the route as the backend now has it, or deletes it when the
// backend has no such route. It runs even when ctx was cancelled (an undo
// must be saved too).
func (p *PersistentDNS) save(ctx context.Context, name string) error {
	if p.store == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	for _, st := range p.Snapshot() {
		if st.Route.Name != name {
			continue
		}
		state, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("route %s: encoding: %w", name, err)
		}
		if err := p.store.PutDNSRoute(ctx, store.DNSRoute{Name: name, Backend: p.backend, State: state}); err != nil {
			return fmt.Errorf("route %s: saving the dns routing table: %w", name, err)
		}
		return nil
	}
	if err := p.store.DeleteDNSRoute(ctx, name); err != nil {
		return fmt.Errorf("route %s: saving the dns routing table: %w", name, err)
	}
	return nil
}
