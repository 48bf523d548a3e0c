package dns

import (
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// maxUDPSize is the EDNS buffer size the server advertises (the DNS flag
// day 2020 value, which avoids fragmentation).
const maxUDPSize = 1232

// serveDNS answers one query from the current table.
func (s *Server) serveDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	resp := s.answer(s.table.Load(), req)
	if w.LocalAddr().Network() == "udp" {
		size := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = min(max(int(opt.UDPSize()), mdns.MinMsgSize), maxUDPSize)
		}
		resp.Truncate(size)
	}
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("dns answer not sent", "client", w.RemoteAddr().String(), "err", err)
	}
}

// answer builds the response to req from t.
func (s *Server) answer(t *table, req *mdns.Msg) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Compress = true
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(maxUDPSize, false)
		if opt.Version() != 0 {
			m.Rcode = mdns.RcodeBadVers
			return m
		}
	}
	if req.Opcode != mdns.OpcodeQuery {
		m.Rcode = mdns.RcodeNotImplemented
		return m
	}
	if len(req.Question) != 1 {
		m.Rcode = mdns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	zone := s.cfg.Zone
	if (q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY) || !mdns.IsSubDomain(zone, name) {
		m.Rcode = mdns.RcodeRefused
		return m
	}
	if q.Qtype == mdns.TypeAXFR || q.Qtype == mdns.TypeIXFR {
		m.Rcode = mdns.RcodeRefused // no zone transfers
		return m
	}
	m.Authoritative = true
	if !t.names[name] {
		m.Rcode = mdns.RcodeNameError
		m.Ns = []mdns.RR{s.soa(t)}
		return m
	}
	m.Answer = s.records(t, name, q)
	if len(m.Answer) == 0 { // NODATA
		m.Ns = []mdns.RR{s.soa(t)}
		return m
	}
	if q.Qtype == mdns.TypeNS && mdns.IsSubDomain(zone, s.cfg.NS) {
		m.Extra = append(m.Extra, s.addrRecords(s.cfg.NS, s.cfg.NSAddrs, mdns.TypeANY)...)
	}
	return m
}

// records are the answers of an existing name to q, owner names spelled
// as asked.
func (s *Server) records(t *table, name string, q mdns.Question) []mdns.RR {
	var out []mdns.RR
	want := func(typ uint16) bool { return q.Qtype == typ || q.Qtype == mdns.TypeANY }
	if name == s.cfg.Zone {
		if want(mdns.TypeSOA) {
			soa := s.soa(t)
			soa.Hdr.Name = q.Name
			out = append(out, soa)
		}
		if want(mdns.TypeNS) {
			out = append(out, &mdns.NS{Hdr: s.header(q.Name, mdns.TypeNS), Ns: s.cfg.NS})
		}
	}
	if name == s.cfg.NS {
		out = append(out, s.addrRecords(q.Name, s.cfg.NSAddrs, q.Qtype)...)
	}
	if e := t.hosts[name]; e != nil && (want(mdns.TypeA) || want(mdns.TypeAAAA)) {
		out = append(out, s.addrRecords(q.Name, s.pick(e).all(), q.Qtype)...)
	}
	return out
}

// pick chooses the color this answer gives: the canary with probability
// Weight/100, else the stable one.
func (s *Server) pick(e *routeEntry) addrSet {
	if e.weighted() && s.cfg.Rand(100) < e.split.Weight {
		return e.canary
	}
	if e.split.Weight == 100 {
		return e.canary
	}
	return e.stable
}

// addrRecords are A (IPv4) and AAAA (IPv6) records of owner for the
// addresses of the asked type (both for ANY).
func (s *Server) addrRecords(owner string, addrs []netip.Addr, qtype uint16) []mdns.RR {
	var out []mdns.RR
	for _, a := range addrs {
		switch {
		case a.Is4() && (qtype == mdns.TypeA || qtype == mdns.TypeANY):
			out = append(out, &mdns.A{Hdr: s.header(owner, mdns.TypeA), A: a.AsSlice()})
		case a.Is6() && (qtype == mdns.TypeAAAA || qtype == mdns.TypeANY):
			out = append(out, &mdns.AAAA{Hdr: s.header(owner, mdns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	return out
}

// soa is the zone's SOA record.
func (s *Server) soa(t *table) *mdns.SOA {
	return &mdns.SOA{
		Hdr:     s.header(s.cfg.Zone, mdns.TypeSOA),
		Ns:      s.cfg.NS,
		Mbox:    s.cfg.Mbox,
		Serial:  t.serial,
		Refresh: seconds(s.cfg.Refresh),
		Retry:   seconds(s.cfg.Retry),
		Expire:  seconds(s.cfg.Expire),
		Minttl:  seconds(s.cfg.TTL),
	}
}

func (s *Server) header(owner string, typ uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: owner, Rrtype: typ, Class: mdns.ClassINET, Ttl: seconds(s.cfg.TTL)}
}
