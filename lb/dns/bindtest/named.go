// Package bindtest runs a private BIND 9 (named) for the dns router's
// tests and benchmarks: one primary zone taking RFC 2136 updates signed
// with a TSIG key, on a free loopback port, everything in a directory of
// the caller's (a test's t.TempDir()). It needs the Debian package bind9.
package bindtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/cutover/cutover/internal/syncbuf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
)

// DepsHint tells how to get named, dig and nsupdate.
const DepsHint = "run scripts/deps.sh (installs the Debian packages bind9 and bind9-dnsutils)"

// Options describe the zone and key of a private named.
type Options struct {
	// Zone is the zone served ("example.test.").
	Zone string
	// KeyName is the TSIG key allowed to update A and AAAA records in the
	// zone (default "cutover-test.").
	KeyName string
	// Secret is the key's base64 secret; a random one when empty.
	Secret string
	// Algorithm is the key's algorithm (default hmac-sha256).
	Algorithm string
	// Records are extra zone file lines, relative to the zone, e.g.
	// "app 5 IN A 127.0.0.11".
	Records []string
	// Grant lists the record types the key may update (default "A
	// AAAA"), as in update-policy { grant KEY zonesub TYPES; }.
	Grant string
	// Named is the named binary (default: found on PATH or /usr/sbin).
	Named string
}

// Named is a running private named.
type Named struct {
	// Addr is where it answers, UDP and TCP ("127.0.0.1:PORT").
	Addr      string
	Zone      string
	KeyName   string
	Secret    string
	Algorithm string
	// Dir holds named.conf, the key, the zone file and its journal.
	Dir   string
	grant string

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error // set when done is closed
}

// FindNamed returns the path of named, or an error pointing to the
// project's deps script.
func FindNamed() (string, error) {
	if p, err := exec.LookPath("named"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/named"); err == nil {
		return "/usr/sbin/named", nil
	}
	return "", fmt.Errorf("named (BIND 9) not found: %s", DepsHint)
}

// Start writes a configuration in dir and starts named on a free port of
// 127.0.0.1, returning once it answers the zone's SOA. Stop it with Stop.
func Start(ctx context.Context, dir string, opts Options) (*Named, error) {
	bin := opts.Named
	if bin == "" {
		var err error
		if bin, err = FindNamed(); err != nil {
			return nil, err
		}
	}
	n := &Named{
		Zone:      mdns.CanonicalName(opts.Zone),
		KeyName:   opts.KeyName,
		Secret:    opts.Secret,
		Algorithm: opts.Algorithm,
		Dir:       dir,
		grant:     opts.Grant,
	}
	if n.grant == "" {
		n.grant = "A AAAA"
	}
	if n.KeyName == "" {
		n.KeyName = "cutover-test."
	}
	n.KeyName = mdns.CanonicalName(n.KeyName)
	if n.Algorithm == "" {
		n.Algorithm = "hmac-sha256"
	}
	if n.Secret == "" {
		n.Secret = NewSecret()
	}
	if err := n.writeZone(opts.Records); err != nil {
		return nil, err
	}
	// A free port can be taken between choosing it and named binding it:
	// try again on another one.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		n.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := n.writeConf(port); err != nil {
			return nil, err
		}
		if lastErr = n.run(ctx, bin); lastErr == nil {
			return n, nil
		}
		if !strings.Contains(lastErr.Error(), "address in use") {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// NewSecret returns a random 256-bit TSIG secret, base64.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// KeyFile returns the key statement as BIND's key files hold it.
func (n *Named) KeyFile() string {
	return fmt.Sprintf("key %q {\n\talgorithm %s;\n\tsecret %q;\n};\n", n.KeyName, n.Algorithm, n.Secret)
}

func (n *Named) zoneFile() string { return filepath.Join(n.Dir, "db."+strings.TrimSuffix(n.Zone, ".")) }

func (n *Named) writeZone(records []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 5\n", n.Zone)
	fmt.Fprintf(&b, "@ IN SOA ns.%s hostmaster.%s 1 3600 600 86400 5\n", n.Zone, n.Zone)
	fmt.Fprintf(&b, "@ IN NS ns.%s\nns IN A 127.0.0.1\n", n.Zone)
	for _, r := range records {
		b.WriteString(r + "\n")
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "key.conf"), []byte(n.KeyFile()), 0o600); err != nil {
		return err
	}
	return os.WriteFile(n.zoneFile(), []byte(b.String()), 0o644)
}

func (n *Named) writeConf(port int) error {
	q := func(name string) string { return strconv.Quote(filepath.Join(n.Dir, name)) }
	conf := fmt.Sprintf(`include %s;
options {
	directory %s;
	pid-file %s;
	session-keyfile %s;
	managed-keys-directory %s;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	allow-transfer { none; };
};
controls { };
zone %q {
	type primary;
	file %s;
	update-policy { grant %s zonesub %s; };
};
`, q("key.conf"), strconv.Quote(n.Dir), q("named.pid"), q("session.key"), strconv.Quote(n.Dir),
		port, n.Zone, strconv.Quote(n.zoneFile()), n.KeyName, n.grant)
	return os.WriteFile(filepath.Join(n.Dir, "named.conf"), []byte(conf), 0o644)
}

// run starts named and waits until it answers the SOA, or exits.
func (n *Named) run(ctx context.Context, bin string) error {
	n.log = &syncBuffer{}
	// -g: foreground, log to stderr; -n 1: one worker thread (small CI
	// machines); no -u: stay the user we are.
	n.cmd = exec.Command(bin, "-g", "-n", "1", "-c", filepath.Join(n.Dir, "named.conf"))
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	n.done = make(chan struct{})
	go func() { n.err = n.cmd.Wait(); close(n.done) }()

	deadline := time.Now().Add(15 * time.Second)
	for {
		if n.answersSOA(ctx) {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("named exited (%v) before answering on %s:\n%s", n.err, n.Addr, n.Log())
		case <-ctx.Done():
			_ = n.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if strings.Contains(n.Log(), "address in use") {
			_ = n.Stop()
			return fmt.Errorf("named on %s: address in use:\n%s", n.Addr, n.Log())
		}
		if time.Now().After(deadline) {
			_ = n.Stop()
			return fmt.Errorf("named did not answer the SOA of %s on %s within 15s:\n%s", n.Zone, n.Addr, n.Log())
		}
	}
}

func (n *Named) answersSOA(ctx context.Context) bool {
	m := new(mdns.Msg)
	m.SetQuestion(n.Zone, mdns.TypeSOA)
	c := &mdns.Client{Timeout: 200 * time.Millisecond}
	r, _, err := c.ExchangeContext(ctx, m, n.Addr)
	return err == nil && r.Rcode == mdns.RcodeSuccess && r.Authoritative
}

// Log returns what named wrote so far.
func (n *Named) Log() string { return n.log.String() }

// Stop ends named (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (n *Named) Stop() error {
	if n.cmd == nil || n.cmd.Process == nil {
		return nil
	}
	select {
	case <-n.done:
		return nil
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return nil
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		return errors.New("named did not stop on SIGTERM within 5s; killed")
	}
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP.
func freePort() (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP on 127.0.0.1")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer = syncbuf.Buffer
