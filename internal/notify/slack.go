package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Slack posts events to a Slack incoming webhook. Mattermost and
// Rocket.Chat accept the same payload.
type Slack struct {
	url    string
	poster *poster
}

// NewSlack returns a Slack sink for an incoming-webhook URL, which must be
// https (http only for loopback addresses, for tests and local relays).
func NewSlack(webhookURL string, opts Options) (*Slack, error) {
	if err := checkWebhookURL(webhookURL); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Slack{url: webhookURL, poster: newPoster(opts, opts.Logger)}, nil
}

// Name is "slack" and the redacted URL (the path is the secret).
func (s *Slack) Name() string { return "slack " + RedactURL(s.url) }

// Send posts the event's message.
func (s *Slack) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(SlackMessage(e))
	if err != nil {
		return fmt.Errorf("encoding slack message: %w", err)
	}
	return s.poster.post(ctx, s.url, body, nil)
}

// Slack limits: a section's text to 3000 characters, a field's to 2000.
const (
	slackTextMax  = 3000
	slackFieldMax = 2000
)

// SlackMessage is the incoming-webhook payload for e: a plain "text" (what
// notifications and old clients show) and Block Kit blocks with the title,
// the details as fields, the images, the reason and the time.
func SlackMessage(e Event) map[string]any {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	mrkdwn := func(s string, limit int) text { return text{Type: "mrkdwn", Text: truncate(s, limit)} }

	blocks := []map[string]any{{
		"type": "section",
		"text": mrkdwn("*"+slackEscape(Title(e))+"*", slackTextMax),
	}}
	var fs []text
	for _, f := range fields(e) {
		fs = append(fs, mrkdwn("*"+f.label+"*\n"+slackEscape(f.value), slackFieldMax))
	}
	if len(fs) > 0 {
		blocks = append(blocks, map[string]any{"type": "section", "fields": fs})
	}
	if imgs := imageLines(e); len(imgs) > 0 {
		var b strings.Builder
		b.WriteString("*Images*")
		for _, l := range imgs {
			fmt.Fprintf(&b, "\n`%s` %s", slackCode(l[0]), slackEscape(l[1]))
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": mrkdwn(b.String(), slackTextMax)})
	}
	if e.Reason != "" {
		reason := truncate(slackCode(e.Reason), slackTextMax-20)
		blocks = append(blocks, map[string]any{"type": "section", "text": mrkdwn("*Reason*\n```"+reason+"```", slackTextMax)})
	}
	if !e.Time.IsZero() {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []text{mrkdwn("cutover · "+formatTime(e.Time), slackTextMax)}})
	}
	return map[string]any{"text": Title(e), "blocks": blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackCode escapes text for a code span or block, where backticks would
// end it early.
func slackCode(s string) string {
	return strings.ReplaceAll(slackEscape(s), "`", "'")
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
