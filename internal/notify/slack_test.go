package notify

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// slackPayload is the part of a Slack message the tests read.
type slackPayload struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	} `json:"blocks"`
}

// all returns every text of the message, joined.
func (p slackPayload) all() string {
	var parts []string
	for _, b := range p.Blocks {
		if b.Text != nil {
			parts = append(parts, b.Text.Text)
		}
		for _, f := range b.Fields {
			parts = append(parts, f.Text)
		}
		for _, e := range b.Elements {
			parts = append(parts, e.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestSlack_RetriesUntilDelivered(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	s, err := NewSlack(rcv.URL+"/services/T000/B000/XXXX", testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), failureEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := rcv.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3 (503, 503, then 200)", len(reqs))
	}
	// Only the last one was answered 200: that is the delivered message.
	var p slackPayload
	if err := json.Unmarshal(reqs[2].body, &p); err != nil {
		t.Fatalf("delivered body is not JSON: %v\n%s", err, reqs[2].body)
	}
	if p.Text != "hello: release 3 failed after 6.1s (rolling)" {
		t.Errorf("text = %q", p.Text)
	}
	all := p.all()
	for _, want := range []string{
		"*hello: release 3 failed after 6.1s (rolling)*",
		"*Stack*\nhello", "*Release*\n3", "*Strategy*\nrolling", "*Trigger*\nwebhook:dockerhub", "*Duration*\n6.1s",
		"*Images*\n`web` myorg/web:1.4.3\n`worker` myorg/worker:1.4.3",
		"*Reason*\n```container hello-web-1 is unhealthy: GET /healthz: 500```",
		"2026-11-22 04:46:03 UTC",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	if ct := reqs[2].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestSlack_BadRequestIsNotRetried(t *testing.T) {
	rcv := newReceiver(t, http.StatusBadRequest)
	s, err := NewSlack(rcv.URL+"/services/T000/B000/XXXX", testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), failureEvent())
	if want := "POST " + rcv.URL + "/***: answered 400 Bad Request: invalid_payload"; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

func TestSlack_EscapesMarkup(t *testing.T) {
	e := failureEvent()
	e.Reason = "a <b> & `c`"
	p := SlackMessage(e)
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var sp slackPayload
	if err := json.Unmarshal(data, &sp); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sp.all(), "```a &lt;b&gt; &amp; 'c'```") {
		t.Errorf("reason not escaped:\n%s", sp.all())
	}
}

func TestSlack_SecretURLNeverLogged(t *testing.T) {
	const secret = "XSECRETXTOKEN"
	logger, logs := logBuffer()
	rcv := newReceiver(t, http.StatusNotFound)
	live, err := NewSlack(rcv.URL+"/services/T000/B000/"+secret, testOptions(logger))
	if err != nil {
		t.Fatal(err)
	}
	gone := newReceiver(t)
	gone.Close() // connection refused, retried
	dead, err := NewSlack(gone.URL+"/services/T000/B000/"+secret+"?x="+secret, testOptions(logger))
	if err != nil {
		t.Fatal(err)
	}
	n := New([]Sink{live, dead}, testOptions(logger))
	err = n.Send(t.Context(), failureEvent())
	if err == nil {
		t.Fatal("Send succeeded, want errors from both sinks")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "slack "+rcv.URL+"/***: POST "+rcv.URL+"/***: answered 404 Not Found") ||
		!strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "(4 attempts)") {
		t.Errorf("err = %v, want the 404 and connection refused after 4 attempts, URLs redacted", err)
	}
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Errorf("logs show the secret:\n%s", out)
	}
	if strings.Count(out, `"msg":"notification failed"`) != 2 || !strings.Contains(out, `"sink":"slack `+rcv.URL+`/***"`) {
		t.Errorf("logs lack the two failures with the redacted sink:\n%s", out)
	}
	var u interface{ Unwrap() error }
	if !errors.As(err, &u) {
		t.Errorf("error %T does not wrap its causes", err)
	}
}

func TestSlack_GivesUpAfterRetries(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	s, err := NewSlack(rcv.URL+"/services/T000/B000/XXXX", testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), failureEvent())
	if want := "POST " + rcv.URL + "/***: answered 503 Service Unavailable (4 attempts)"; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if n := len(rcv.requests()); n != 1+DefaultRetryMax {
		t.Errorf("receiver got %d requests, want %d", n, 1+DefaultRetryMax)
	}
}
