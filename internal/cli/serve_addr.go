package cli

import (
	"fmt"
	"net"
	"strconv"
)

// checkListenAddrs refuses a malformed --listen, --hooks-listen or
// --dns-listen before anything starts: bad input (exit 2), not the
// environment's fault (exit 4) as a port already taken is.
func (o *serveOptions) checkListenAddrs() error {
	for _, f := range []struct{ flag, addr string }{
		{"--listen", o.listen}, {"--hooks-listen", o.hooksListen}, {"--dns-listen", o.dnsListen},
	} {
		if f.addr == "" {
			continue
		}
		if err := checkHostPort(f.addr); err != nil {
			return fmt.Errorf("%s %q: %w", f.flag, f.addr, err)
		}
	}
	return nil
}

// checkHostPort accepts HOST:PORT with a port from 0 (any free one) to
// 65535; the host may be empty (every address), a name or an IP literal.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT (e.g. 127.0.0.1:7777): %w", err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	return nil
}
