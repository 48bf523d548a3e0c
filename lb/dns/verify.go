package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	mdns "github.com/miekg/dns"
)

// Verification polls fast first: BIND applies an update before it
// answers it, so the first query normally sees it.
const (
	verifyFirstWait = 2 * time.Millisecond
	verifyMaxWait   = 100 * time.Millisecond
)

// verify queries the server until host's addresses are exactly want, or
// fails with ErrNotVisible after the verify timeout.
func (u *Updater) verify(ctx context.Context, op, host string, want addrSet) error {
	vctx, cancel := context.WithTimeout(ctx, u.cfg.VerifyTimeout)
	defer cancel()
	wait := verifyFirstWait
	var last string
	for {
		got, err := u.lookup(vctx, host)
		if err == nil && got.equal(want) {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "answers " + got.String()
		}
		select {
		case <-vctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("dns %s: accepted by %s, not yet seen in its answers (%s): %w", op, u.cfg.Server, last, ctx.Err())
			}
			return fmt.Errorf("dns %s: %w: accepted by %s, but after %s it %s", op, ErrNotVisible, u.cfg.Server, u.cfg.VerifyTimeout, last)
		case <-time.After(wait):
		}
		wait = min(2*wait, verifyMaxWait)
	}
}

// lookup asks the server for host's A and AAAA records.
func (u *Updater) lookup(ctx context.Context, host string) (addrSet, error) {
	var set addrSet
	for _, typ := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
		r, err := u.query(ctx, host, typ)
		if err != nil {
			return addrSet{}, err
		}
		if !r.Authoritative {
			return addrSet{}, fmt.Errorf("answers %s without authority", mdns.TypeToString[typ])
		}
		if r.Rcode != mdns.RcodeSuccess && r.Rcode != mdns.RcodeNameError {
			return addrSet{}, fmt.Errorf("answers %s with %s", mdns.TypeToString[typ], rcodeName(r.Rcode))
		}
		for _, rr := range r.Answer {
			var ip []byte
			switch rr := rr.(type) {
			case *mdns.A:
				ip = rr.A
			case *mdns.AAAA:
				ip = rr.AAAA
			default:
				continue
			}
			if a, ok := netip.AddrFromSlice(ip); ok {
				set.add(a)
			}
		}
	}
	return set, nil
}

// query asks the server one question without recursion, over UDP, and
// again over TCP when the answer is truncated.
func (u *Updater) query(ctx context.Context, name string, typ uint16) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion(name, typ)
	m.RecursionDesired = false
	m.SetEdns0(maxUDPSize, false)
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	c := &mdns.Client{Net: "udp", Timeout: u.cfg.Timeout}
	r, _, err := c.ExchangeContext(ctx, m, u.cfg.Server)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, u.cfg.Server)
	}
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("no answer")
	}
	return r, nil
}
