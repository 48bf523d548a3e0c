package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// Headers of generic webhook requests.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// raw body, keyed with the webhook's secret (GitHub's scheme).
	SignatureHeader = "X-Cutover-Signature-256"
	// EventHeader carries the event's kind.
	EventHeader = "X-Cutover-Event"
	// DeliveryHeader carries an ID unique to the event, the same on every
	// retry, so a receiver can ignore duplicates.
	DeliveryHeader = "X-Cutover-Delivery"
)

// Webhook posts events as JSON (see Event.MarshalJSON) to a URL.
type Webhook struct {
	url    string
	secret []byte
	poster *poster
}

// NewWebhook returns a generic webhook sink. With a secret, each request
// is signed in SignatureHeader.
func NewWebhook(webhookURL, secret string, opts Options) (*Webhook, error) {
	if err := checkWebhookURL(webhookURL); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	w := &Webhook{url: webhookURL, poster: newPoster(opts, opts.Logger)}
	if secret != "" {
		w.secret = []byte(secret)
	}
	return w, nil
}

// Name is "webhook" and the redacted URL.
func (w *Webhook) Name() string { return "webhook " + RedactURL(w.url) }

// Send posts the event.
func (w *Webhook) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("delivery id: %w", err)
	}
	h := http.Header{}
	h.Set(EventHeader, e.Kind)
	h.Set(DeliveryHeader, hex.EncodeToString(id))
	if w.secret != nil {
		h.Set(SignatureHeader, Sign(w.secret, body))
	}
	return w.poster.post(ctx, w.url, body, h)
}

// Sign returns the SignatureHeader value for body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature (a SignatureHeader value) signs body
// with secret, comparing in constant time. Receivers written in Go can use it.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(signature), []byte(Sign(secret, body)))
}

// checkWebhookURL accepts https URLs, and http ones to loopback hosts.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s is not a URL", RedactURL(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%s: use https (plain http is allowed only to loopback addresses)", RedactURL(raw))
	}
	return fmt.Errorf("%s: scheme must be https", RedactURL(raw))
}
