package dns

import (
	"context"
	"fmt"
	"time"

	mdns "github.com/miekg/dns"
)

// tsigFudge is the clock difference the server tolerates on a signed
// update (seconds), as nsupdate uses.
const tsigFudge = 300

// UpdateError is an update the DNS server refused; errors.Is(err,
// ErrUpdateRefused) holds for it. The server changed nothing.
type UpdateError struct {
	// Op is what was asked: "update of app.example.test. to 127.0.0.12".
	Op     string
	Server string
	// Rcode is the answer's DNS rcode (mdns.RcodeRefused …) and TSIGError
	// the TSIG error code (mdns.RcodeBadKey …, 0 when none).
	Rcode     int
	TSIGError uint16
	// Reason says what the codes mean for the user.
	Reason string
}

func (e *UpdateError) Error() string {
	return fmt.Sprintf("dns %s refused by %s: %s", e.Op, e.Server, e.Reason)
}

// Is makes errors.Is(err, ErrUpdateRefused) true.
func (e *UpdateError) Is(target error) bool { return target == ErrUpdateRefused }

// replace sets host's A and AAAA record sets to want (none when empty) in
// one signed update, then waits until the server answers want.
func (u *Updater) replace(ctx context.Context, host string, want addrSet) error {
	op := fmt.Sprintf("update of %s to %s", host, want)
	m := new(mdns.Msg)
	m.SetUpdate(u.cfg.Zone)
	m.RemoveRRset([]mdns.RR{
		&mdns.A{Hdr: mdns.RR_Header{Name: host, Rrtype: mdns.TypeA, Class: mdns.ClassINET}},
		&mdns.AAAA{Hdr: mdns.RR_Header{Name: host, Rrtype: mdns.TypeAAAA, Class: mdns.ClassINET}},
	})
	var rrs []mdns.RR
	hdr := func(typ uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: host, Rrtype: typ, Class: mdns.ClassINET, Ttl: seconds(u.cfg.TTL)}
	}
	for _, a := range want.v4 {
		rrs = append(rrs, &mdns.A{Hdr: hdr(mdns.TypeA), A: a.AsSlice()})
	}
	for _, a := range want.v6 {
		rrs = append(rrs, &mdns.AAAA{Hdr: hdr(mdns.TypeAAAA), AAAA: a.AsSlice()})
	}
	if len(rrs) > 0 {
		m.Insert(rrs)
	}
	if err := u.send(ctx, op, m); err != nil {
		return err
	}
	return u.verify(ctx, op, host, want)
}

// checkServer makes sure the server is authoritative for the zone and
// accepts the key: it asks for the zone's SOA, then sends a signed update
// whose only content is a prerequisite that holds (the zone has an SOA),
// which changes nothing.
func (u *Updater) checkServer(ctx context.Context, host string) error {
	r, err := u.query(ctx, u.cfg.Zone, mdns.TypeSOA)
	if err != nil {
		return fmt.Errorf("dns server %s: asking for the SOA of %s: %w", u.cfg.Server, u.cfg.Zone, err)
	}
	if r.Rcode != mdns.RcodeSuccess || !r.Authoritative || !hasSOA(r, u.cfg.Zone) {
		return fmt.Errorf("dns server %s is not authoritative for zone %s (asked for its SOA, got %s, aa=%t)",
			u.cfg.Server, u.cfg.Zone, mdns.RcodeToString[r.Rcode], r.Authoritative)
	}
	m := new(mdns.Msg)
	m.SetUpdate(u.cfg.Zone)
	m.RRsetUsed([]mdns.RR{&mdns.SOA{Hdr: mdns.RR_Header{Name: u.cfg.Zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET}}})
	return u.send(ctx, fmt.Sprintf("key check for %s (key %s)", host, u.cfg.KeyName), m)
}

func hasSOA(r *mdns.Msg, zone string) bool {
	for _, rr := range r.Answer {
		if soa, ok := rr.(*mdns.SOA); ok && mdns.CanonicalName(soa.Hdr.Name) == zone {
			return true
		}
	}
	return false
}

// send signs m with the key (the TSIG record goes last) and sends it over
// TCP, turning a refusal into an UpdateError.
func (u *Updater) send(ctx context.Context, op string, m *mdns.Msg) error {
	m.SetTsig(u.cfg.KeyName, u.cfg.Algorithm, tsigFudge, time.Now().Unix())
	c := &mdns.Client{
		Net:        "tcp",
		Timeout:    u.cfg.Timeout,
		TsigSecret: map[string]string{u.cfg.KeyName: u.cfg.Secret},
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	r, _, err := c.ExchangeContext(ctx, m, u.cfg.Server)
	if r == nil {
		if err == nil {
			err = fmt.Errorf("no answer")
		}
		return fmt.Errorf("dns %s: sending to %s: %w", op, u.cfg.Server, err)
	}
	if refused := u.refusal(op, r); refused != nil {
		return refused
	}
	if err != nil {
		// The server said yes but its answer's signature does not verify:
		// someone else may have answered. The record may have changed.
		return fmt.Errorf("dns %s: the answer from %s failed TSIG verification, the record may or may not have changed: %w",
			op, u.cfg.Server, err)
	}
	return nil
}

// refusal explains a refused update, or returns nil when r accepts it.
func (u *Updater) refusal(op string, r *mdns.Msg) *UpdateError {
	e := &UpdateError{Op: op, Server: u.cfg.Server, Rcode: r.Rcode}
	key, alg := u.cfg.KeyName, algorithmName(u.cfg.Algorithm)
	if t := r.IsTsig(); t != nil && t.Error != mdns.RcodeSuccess {
		e.TSIGError = t.Error
		switch int(t.Error) {
		case mdns.RcodeBadKey:
			e.Reason = fmt.Sprintf("TSIG bad key: the server does not know key %s with algorithm %s", key, alg)
		case mdns.RcodeBadSig:
			e.Reason = fmt.Sprintf("TSIG bad signature: the server's key %s has another secret (or algorithm than %s)", key, alg)
		case mdns.RcodeBadTime:
			e.Reason = fmt.Sprintf("TSIG bad time: this host's clock and the server's differ by more than %d s", tsigFudge)
		default:
			e.Reason = fmt.Sprintf("TSIG error %s with key %s", rcodeName(int(t.Error)), key)
		}
		return e
	}
	switch r.Rcode {
	case mdns.RcodeSuccess:
		return nil
	case mdns.RcodeRefused:
		e.Reason = fmt.Sprintf("REFUSED: the server's update-policy does not let key %s change A and AAAA records there (want e.g. update-policy { grant %s zonesub A AAAA; };)", key, key)
	case mdns.RcodeNotAuth:
		e.Reason = fmt.Sprintf("NOTAUTH: the server is not authoritative for zone %s, or refuses key %s", u.cfg.Zone, key)
	case mdns.RcodeNotZone:
		e.Reason = fmt.Sprintf("NOTZONE: the name is not in zone %s on that server", u.cfg.Zone)
	case mdns.RcodeServerFailure:
		e.Reason = "SERVFAIL: the server could not apply the update (see its log)"
	case mdns.RcodeNotImplemented:
		e.Reason = "NOTIMP: the server does not take dynamic updates for this zone (is it the primary?)"
	default:
		e.Reason = rcodeName(r.Rcode)
	}
	return e
}

func rcodeName(rcode int) string {
	if s, ok := mdns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rcode)
}
