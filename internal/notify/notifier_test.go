package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNotifier_FansOutToConfiguredSinks(t *testing.T) {
	slack := newReceiver(t)
	hook := newReceiver(t)
	sink := startSMTPSink(t)
	cfg := Config{
		Slack:   &SlackConfig{URLEnv: "TEST_SLACK_URL"},
		Webhook: &WebhookConfig{URL: hook.URL + "/hook", SecretEnv: "TEST_HOOK_SECRET", On: []string{KindFailure, KindRollback}},
		Email:   &EmailConfig{To: []string{"ops@example.com"}, SMTP: sink.addr, On: []string{KindFailure}},
	}
	env := map[string]string{"TEST_SLACK_URL": slack.URL + "/services/T/B/secret", "TEST_HOOK_SECRET": "s3cret"}
	sinks, skipped := cfg.Sinks("x-cutover.notify", func(k string) string { return env[k] }, testOptions(nil))
	if len(skipped) > 0 {
		t.Fatal(skipped)
	}
	n := New(sinks, testOptions(nil))

	start := Event{Kind: KindStart, Stack: "hello", Release: 3, Strategy: "rolling"}
	if !n.Notify(start) {
		t.Error("Notify(start) = false, want queued (slack takes every kind)")
	}
	if !n.Notify(failureEvent()) {
		t.Error("Notify(failure) = false, want queued")
	}
	if n.Notify(Event{Kind: "unknown", Stack: "hello"}) {
		t.Error("Notify(unknown kind) = true: no sink wants it")
	}
	if err := n.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}

	var titles []string
	for _, r := range slack.requests() {
		var p slackPayload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, p.Text)
	}
	if want := "hello: release 3 started (rolling)|hello: release 3 failed after 6.1s (rolling)"; strings.Join(titles, "|") != want {
		t.Errorf("slack got %q, want both events in order", titles)
	}
	hooks := hook.requests()
	if len(hooks) != 1 || hooks[0].header.Get(EventHeader) != KindFailure || !Verify([]byte("s3cret"), hooks[0].body, hooks[0].header.Get(SignatureHeader)) {
		t.Errorf("webhook got %d requests, want the signed failure only", len(hooks))
	}
	_, subject, _ := readMail(t, sink.next(t))
	if subject != "[cutover] hello: release 3 failed after 6.1s (rolling)" {
		t.Errorf("email subject = %q", subject)
	}
	sink.none(t)

	if n.Notify(failureEvent()) {
		t.Error("Notify after Close = true")
	}
}

func TestNotifier_NeverBlocksTheCaller(t *testing.T) {
	logger, logs := logBuffer()
	b := newBlockingSink()
	opts := testOptions(logger)
	opts.QueueSize = 1
	n := New([]Sink{b}, opts)

	e := failureEvent()
	if !n.Notify(e) {
		t.Fatal("first Notify not queued")
	}
	<-b.started // the worker is now stuck in the sink
	e.Release = 4
	if !n.Notify(e) {
		t.Fatal("second Notify not queued (the queue has room for one)")
	}
	e.Release = 5
	if n.Notify(e) {
		t.Fatal("third Notify queued, want dropped: the queue is full")
	}
	if !strings.Contains(logs.String(), `"msg":"notification dropped: queue full"`) || !strings.Contains(logs.String(), `"release":5`) {
		t.Errorf("no warning for the dropped event:\n%s", logs.String())
	}
	close(b.release)
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(b.got) != 2 || b.got[0].Release != 3 || b.got[1].Release != 4 {
		t.Errorf("sink got %+v, want releases 3 and 4", b.got)
	}
}

func TestNotifier_CloseDeadlineCancelsDeliveries(t *testing.T) {
	b := newBlockingSink()
	n := New([]Sink{b}, testOptions(nil))
	n.Notify(failureEvent())
	n.Notify(failureEvent())
	<-b.started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := n.Close(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	if len(b.ctxErrs) != 1 || len(b.got) != 0 {
		t.Errorf("sink: %d cancelled, %d delivered; want the one in flight cancelled and the queued one dropped", len(b.ctxErrs), len(b.got))
	}
}

func TestNotifier_NilAndEmptyDoNothing(t *testing.T) {
	var n *Notifier
	if n.Notify(failureEvent()) || n.Send(t.Context(), failureEvent()) != nil || n.Close(t.Context()) != nil {
		t.Error("a nil Notifier did something")
	}
	empty := New(nil, Options{})
	if empty.Notify(failureEvent()) {
		t.Error("a Notifier without sinks queued an event")
	}
	if err := empty.Close(t.Context()); err != nil {
		t.Error(err)
	}
}
