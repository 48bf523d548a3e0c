package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"github.com/cutover/cutover/internal/syncbuf"
	"io"
	"log/slog"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testOptions retry fast.
func testOptions(logger *slog.Logger) Options {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return Options{Logger: logger, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Timeout: 10 * time.Second}
}

// logBuffer returns a logger writing JSON lines to the returned buffer.
func logBuffer() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer = syncbuf.Buffer

// request is one request a receiver got.
type request struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that answers with the next status from
// statuses (then 200) and records every request.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	reqs     []request
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, request{path: req.URL.Path, header: req.Header.Clone(), body: body})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		if status == http.StatusBadRequest {
			_, _ = io.WriteString(w, "invalid_payload")
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// failureEvent is a typical failed release.
func failureEvent() Event {
	return Event{
		Kind: KindFailure, Stack: "hello", Release: 3, Strategy: "rolling", Trigger: "webhook:dockerhub",
		Images:   map[string]string{"web": "myorg/web:1.4.3", "worker": "myorg/worker:1.4.3"},
		Duration: 6140 * time.Millisecond,
		Reason:   "container hello-web-1 is unhealthy: GET /healthz: 500",
		Time:     time.Date(2026, 11, 22, 4, 46, 3, 0, time.UTC),
	}
}

// debianPython is Debian's interpreter, which sees python3-aiosmtpd (a
// python3 earlier in PATH, e.g. pyenv's, may not).
const debianPython = "/usr/bin/python3"

// smtpSink is a real SMTP server (aiosmtpd) run for one test.
type smtpSink struct {
	addr string
	msgs chan smtpMessage
}

// smtpMessage is what the sink prints for each message.
type smtpMessage struct {
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	Data     string   `json:"data"`
	TLS      bool     `json:"tls"`
	AuthUser *string  `json:"auth_user"`
}

// startSMTPSink runs testdata/smtpsink.py with args until the test ends.
// It fails the test when python3-aiosmtpd is not installed.
func startSMTPSink(t *testing.T, args ...string) *smtpSink {
	t.Helper()
	if out, err := exec.Command(debianPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import aiosmtpd (%v: %s): install Debian's python3-aiosmtpd package (scripts/deps.sh)",
			debianPython, err, strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(debianPython, append([]string{"testdata/smtpsink.py"}, args...)...)
	stdin, err := cmd.StdinPipe() // the sink exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting SMTP sink: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	s := &smtpSink{msgs: make(chan smtpMessage, 16)}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "listening "); ok {
				listening <- a
				continue
			}
			var m smtpMessage
			if json.Unmarshal([]byte(line), &m) == nil {
				s.msgs <- m
			}
		}
		close(listening)
	}()
	select {
	case a, ok := <-listening:
		if !ok {
			t.Fatalf("SMTP sink exited: %s", stderr.String())
		}
		s.addr = a
	case <-time.After(10 * time.Second):
		t.Fatalf("SMTP sink did not start within 10s: %s", stderr.String())
	}
	return s
}

// next waits for the next message.
func (s *smtpSink) next(t *testing.T) smtpMessage {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("the SMTP sink received no message within 10s")
	}
	return smtpMessage{}
}

// none checks that no (further) message arrived.
func (s *smtpSink) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-s.msgs:
		t.Errorf("unexpected message received: %+v", m)
	default:
	}
}

// testCert writes a self-signed certificate for 127.0.0.1 and returns the
// cert and key paths and a TLS config that trusts it.
func testCert(t *testing.T) (certPath, keyPath string, trust *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtpsink.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, &tls.Config{RootCAs: pool}
}

// blockingSink blocks each Send until released or its context ends.
type blockingSink struct {
	started chan Event
	release chan struct{}
	mu      sync.Mutex
	got     []Event
	ctxErrs []error
}

func newBlockingSink() *blockingSink {
	return &blockingSink{started: make(chan Event, 16), release: make(chan struct{})}
}

func (b *blockingSink) Name() string { return "blocking" }

func (b *blockingSink) Send(ctx context.Context, e Event) error {
	b.started <- e
	select {
	case <-b.release:
		b.mu.Lock()
		b.got = append(b.got, e)
		b.mu.Unlock()
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.ctxErrs = append(b.ctxErrs, ctx.Err())
		b.mu.Unlock()
		return ctx.Err()
	}
}

// qpReader decodes a quoted-printable body.
func qpReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }
