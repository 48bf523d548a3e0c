package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
)

func TestWebhook_SignedJSONWithRetries(t *testing.T) {
	const secret = "It's a Secret to Everybody"
	rcv := newReceiver(t, http.StatusBadGateway)
	w, err := NewWebhook(rcv.URL+"/hooks/cutover", secret, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(t.Context(), failureEvent()); err != nil {
		t.Fatal(err)
	}
	reqs := rcv.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2 (502, then 200)", len(reqs))
	}
	for i, r := range reqs {
		// Verify as a receiver would, independently of Sign.
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(r.body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if got := r.header.Get(SignatureHeader); !hmac.Equal([]byte(got), []byte(want)) {
			t.Errorf("request %d: %s = %q, want %q", i+1, SignatureHeader, got, want)
		}
		if got := r.header.Get(EventHeader); got != "failure" {
			t.Errorf("request %d: %s = %q", i+1, EventHeader, got)
		}
	}
	if a, b := reqs[0].header.Get(DeliveryHeader), reqs[1].header.Get(DeliveryHeader); a == "" || a != b {
		t.Errorf("delivery IDs %q and %q: want one ID, the same on the retry", a, b)
	}
	var got map[string]any
	if err := json.Unmarshal(reqs[1].body, &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"kind": "failure", "stack": "hello", "release": 3.0, "strategy": "rolling", "trigger": "webhook:dockerhub",
		"duration": "6.1s", "duration_ms": 6140.0, "reason": "container hello-web-1 is unhealthy: GET /healthz: 500",
		"time": "2026-11-22T04:46:03Z",
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if imgs, _ := got["images"].(map[string]any); imgs["web"] != "myorg/web:1.4.3" {
		t.Errorf("images = %v", got["images"])
	}
	if !Verify([]byte(secret), reqs[1].body, reqs[1].header.Get(SignatureHeader)) {
		t.Error("Verify rejects cutover's own signature")
	}
	if Verify([]byte("wrong"), reqs[1].body, reqs[1].header.Get(SignatureHeader)) {
		t.Error("Verify accepts a signature made with another secret")
	}
}

func TestWebhook_UnsignedWithoutSecret(t *testing.T) {
	rcv := newReceiver(t)
	w, err := NewWebhook(rcv.URL, "", testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(t.Context(), failureEvent()); err != nil {
		t.Fatal(err)
	}
	if sig := rcv.requests()[0].header.Get(SignatureHeader); sig != "" {
		t.Errorf("%s = %q without a secret", SignatureHeader, sig)
	}
}

func TestSign_GitHubTestVector(t *testing.T) {
	got := Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhook_RefusesPlainHTTPToRemoteHosts(t *testing.T) {
	for _, u := range []string{"http://hooks.example.com/x", "ftp://example.com/x", "not a url"} {
		if _, err := NewWebhook(u, "", Options{}); err == nil {
			t.Errorf("NewWebhook(%q) accepted it", u)
		}
	}
	for _, u := range []string{"https://hooks.example.com/x", "http://127.0.0.1:9/x", "http://localhost/x"} {
		if _, err := NewWebhook(u, "", Options{}); err != nil {
			t.Errorf("NewWebhook(%q): %v", u, err)
		}
	}
}
