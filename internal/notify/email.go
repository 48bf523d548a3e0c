package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// Email TLS modes.
const (
	// TLSAuto uses STARTTLS when the server offers it. Without it,
	// credentials are sent only to a loopback server.
	TLSAuto = ""
	// TLSStartTLS requires STARTTLS.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "implicit"
)

// EmailSettings configure the email sink.
type EmailSettings struct {
	// From is the sender address ("cutover@example.com" or
	// "cutover <cutover@example.com>").
	From string
	// To are the recipients; at least one.
	To []string
	// SMTP is the server's host:port.
	SMTP string
	// Username and Password enable AUTH PLAIN (only over TLS, or to a
	// loopback server).
	Username, Password string
	// TLS is TLSAuto, TLSStartTLS or TLSImplicit.
	TLS string
}

// Email sends events as plain-text mail over SMTP.
type Email struct {
	s        EmailSettings
	from     *mail.Address
	to       []*mail.Address
	host     string
	opts     Options
	hostname string
}

// NewEmail returns an email sink.
func NewEmail(s EmailSettings, opts Options) (*Email, error) {
	opts = opts.withDefaults()
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("from: %q is not an email address: %w", s.From, err)
	}
	if len(s.To) == 0 {
		return nil, errors.New("to: give at least one recipient")
	}
	var to []*mail.Address
	for _, t := range s.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("to: %q is not an email address: %w", t, err)
		}
		to = append(to, a)
	}
	host, port, err := net.SplitHostPort(s.SMTP)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("smtp: %q is not host:port (e.g. smtp.example.com:587)", s.SMTP)
	}
	switch s.TLS {
	case TLSAuto, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("tls: unknown mode %q (known: starttls, implicit; empty: STARTTLS when offered)", s.TLS)
	}
	if (s.Username == "") != (s.Password == "") {
		return nil, errors.New("username and password go together: set both or neither")
	}
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "localhost"
	}
	return &Email{s: s, from: from, to: to, host: host, opts: opts, hostname: hostname}, nil
}

// Name is "email" and the server.
func (m *Email) Name() string { return "email " + m.s.SMTP }

// Send mails the event, retrying connection errors and 4xx replies.
func (m *Email) Send(ctx context.Context, e Event) error {
	msg := m.message(e)
	var err error
	for attempt := 0; ; attempt++ {
		err = m.send(ctx, msg)
		if err == nil || !temporary(err) || attempt >= m.opts.RetryMax || ctx.Err() != nil {
			break
		}
		wait := min(m.opts.RetryWaitMin<<attempt, m.opts.RetryWaitMax)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-time.After(wait):
		}
	}
	return err
}

// temporary reports whether a retry may help: connection errors and
// 4xx SMTP replies, not 5xx replies or TLS failures.
func temporary(err error) bool {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 400 && tp.Code < 500
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return false
	}
	var ne net.Error
	var op *net.OpError
	return errors.As(err, &ne) || errors.As(err, &op)
}

// send runs one SMTP session.
func (m *Email) send(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.AttemptTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.s.SMTP)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	if m.s.TLS == TLSImplicit {
		tc := tls.Client(conn, tlsConfig(m.opts.TLSConfig, m.host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS with %s: %w", m.s.SMTP, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(m.hostname); err != nil {
		return err
	}
	if m.s.TLS != TLSImplicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig(m.opts.TLSConfig, m.host)); err != nil {
				return fmt.Errorf("STARTTLS with %s: %w", m.s.SMTP, err)
			}
		} else if m.s.TLS == TLSStartTLS {
			return fmt.Errorf("%s does not offer STARTTLS, which tls: starttls requires", m.s.SMTP)
		}
	}
	if m.s.Username != "" {
		// PlainAuth refuses to send the password without TLS, except to
		// localhost.
		if err := c.Auth(smtp.PlainAuth("", m.s.Username, m.s.Password, m.host)); err != nil {
			return fmt.Errorf("authenticating to %s as %s: %w", m.s.SMTP, m.s.Username, err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return err
	}
	for _, t := range m.to {
		if err := c.Rcpt(t.Address); err != nil {
			return fmt.Errorf("recipient %s: %w", t.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message renders the mail: headers and a quoted-printable UTF-8 body.
func (m *Email) message(e Event) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	to := make([]string, len(m.to))
	for i, a := range m.to {
		to[i] = a.String()
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	date := e.Time
	if date.IsZero() {
		date = m.opts.Now()
	}
	header("From", m.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", "[cutover] "+Title(e)))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+m.hostname+">")
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="utf-8"`)
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	header("X-Cutover-Event", e.Kind)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(Text(e), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
