package notify

import (
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
)

// readMail parses a received message and returns its subject and
// decoded body.
func readMail(t *testing.T, m smtpMessage) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	// mail.ReadMessage does not decode the transfer encoding.
	body, err := io.ReadAll(qpReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, subject, strings.ReplaceAll(string(body), "\r\n", "\n")
}

func TestEmail_DeliversReadableMessage(t *testing.T) {
	sink := startSMTPSink(t)
	m, err := NewEmail(EmailSettings{
		From: "cutover <cutover@example.com>", To: []string{"ops@example.com", "Dev Team <dev@example.com>"}, SMTP: sink.addr,
	}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	e := failureEvent()
	e.Reason = "container hello-web-1 is unhealthy\nlast log: panic: café"
	if err := m.Send(t.Context(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := sink.next(t)
	if got.MailFrom != "cutover@example.com" || strings.Join(got.RcptTos, ",") != "ops@example.com,dev@example.com" {
		t.Errorf("envelope from %q to %v", got.MailFrom, got.RcptTos)
	}
	msg, subject, body := readMail(t, got)
	if subject != "[cutover] hello: release 3 failed after 6.1s (rolling)" {
		t.Errorf("Subject = %q", subject)
	}
	if from := msg.Header.Get("From"); from != `"cutover" <cutover@example.com>` {
		t.Errorf("From = %q", from)
	}
	if to := msg.Header.Get("To"); to != `<ops@example.com>, "Dev Team" <dev@example.com>` {
		t.Errorf("To = %q", to)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(e.Time) {
		t.Errorf("Date = %v, %v; want %v", d, err, e.Time)
	}
	for _, want := range []string{
		"Stack:     hello\n", "Release:   3\n", "Strategy:  rolling\n", "Duration:  6.1s\n",
		"  web     myorg/web:1.4.3\n", "  worker  myorg/worker:1.4.3\n",
		"Reason:\n  container hello-web-1 is unhealthy\n  last log: panic: café\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if got.TLS {
		t.Error("the session used TLS, but the sink offers none")
	}
}

func TestEmail_StartTLSAndAuth(t *testing.T) {
	cert, key, trust := testCert(t)
	sink := startSMTPSink(t, "--cert", cert, "--key", key, "--user", "cutover", "--password", "pw")
	opts := testOptions(nil)
	opts.TLSConfig = trust
	m, err := NewEmail(EmailSettings{
		From: "cutover@example.com", To: []string{"ops@example.com"}, SMTP: sink.addr, Username: "cutover", Password: "pw",
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), failureEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := sink.next(t)
	if !got.TLS {
		t.Error("the message was sent without STARTTLS, which the server offered")
	}
	if got.AuthUser == nil || *got.AuthUser != "cutover" {
		t.Errorf("authenticated as %v, want cutover", got.AuthUser)
	}

	// A wrong password is a permanent error (535): no retry, no message.
	bad, err := NewEmail(EmailSettings{
		From: "cutover@example.com", To: []string{"ops@example.com"}, SMTP: sink.addr, Username: "cutover", Password: "nope",
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Send(t.Context(), failureEvent())
	if err == nil || !strings.Contains(err.Error(), "authenticating to "+sink.addr+" as cutover: 535") {
		t.Errorf("err = %v, want a 535 authentication failure", err)
	}
	sink.none(t)

	// The server's certificate is not trusted without the test's roots.
	untrusted, err := NewEmail(EmailSettings{From: "cutover@example.com", To: []string{"ops@example.com"}, SMTP: sink.addr}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusted.Send(t.Context(), failureEvent()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v, want a certificate error", err)
	}
	sink.none(t)
}

func TestEmail_ImplicitTLS(t *testing.T) {
	cert, key, trust := testCert(t)
	sink := startSMTPSink(t, "--cert", cert, "--key", key, "--implicit")
	opts := testOptions(nil)
	opts.TLSConfig = trust
	m, err := NewEmail(EmailSettings{From: "cutover@example.com", To: []string{"ops@example.com"}, SMTP: sink.addr, TLS: TLSImplicit}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), failureEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := sink.next(t); !got.TLS {
		t.Error("the message was sent without TLS")
	}
}

func TestEmail_RequiredStartTLSMissing(t *testing.T) {
	sink := startSMTPSink(t)
	m, err := NewEmail(EmailSettings{From: "cutover@example.com", To: []string{"ops@example.com"}, SMTP: sink.addr, TLS: TLSStartTLS}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(t.Context(), failureEvent())
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("err = %v, want STARTTLS missing", err)
	}
	sink.none(t)
}

func TestEmail_RetriesTemporaryFailure(t *testing.T) {
	sink := startSMTPSink(t, "--fail-first", "2")
	m, err := NewEmail(EmailSettings{From: "cutover@example.com", To: []string{"ops@example.com"}, SMTP: sink.addr}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), failureEvent()); err != nil {
		t.Fatalf("Send: %v (the server answered 451 twice, then accepts)", err)
	}
	sink.next(t)
	sink.none(t)
}

func TestNewEmail_RejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		desc string
		s    EmailSettings
		want string
	}{
		{"bad from", EmailSettings{From: "nope", To: []string{"a@b.c"}, SMTP: "h:25"}, `from: "nope" is not an email address`},
		{"no recipient", EmailSettings{From: "a@b.c", SMTP: "h:25"}, "to: give at least one recipient"},
		{"bad recipient", EmailSettings{From: "a@b.c", To: []string{"x"}, SMTP: "h:25"}, `to: "x" is not an email address`},
		{"no port", EmailSettings{From: "a@b.c", To: []string{"a@b.c"}, SMTP: "smtp.example.com"}, `smtp: "smtp.example.com" is not host:port`},
		{"bad tls", EmailSettings{From: "a@b.c", To: []string{"a@b.c"}, SMTP: "h:25", TLS: "ssl"}, `tls: unknown mode "ssl"`},
		{"user without password", EmailSettings{From: "a@b.c", To: []string{"a@b.c"}, SMTP: "h:25", Username: "u"}, "username and password go together"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := NewEmail(tc.s, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
