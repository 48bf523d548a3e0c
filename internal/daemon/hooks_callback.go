package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/cutover/cutover/internal/webhook"
)

// hubCallback answers Docker Hub's legacy callback_url once a push has been
// matched: state success, and a description saying which stacks will be
// released (or that none watches the tag). It is best effort: a failure is
// logged and changes nothing. The callback URL is a capability (whoever has
// it can set the build's status), so it is never logged.
type hubCallback struct {
	client *retryablehttp.Client
	log    *slog.Logger
}

func newHubCallback(httpClient *http.Client, log *slog.Logger) *hubCallback {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	c := retryablehttp.NewClient()
	c.HTTPClient = httpClient
	c.RetryMax = 2
	c.RetryWaitMin = 500 * time.Millisecond
	c.RetryWaitMax = 2 * time.Second
	c.Logger = nil // it would log the URL
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &hubCallback{client: c, log: log}
}

// hubState is the body Docker Hub's callback takes.
type hubState struct {
	State       string `json:"state"`
	Description string `json:"description"`
	Context     string `json:"context"`
	TargetURL   string `json:"target_url"`
}

// report posts the outcome of matching p, in the background.
func (c *hubCallback) report(p webhook.Push, stacks []string) {
	if c == nil || p.CallbackURL == "" {
		return
	}
	desc := "cutover: no stack runs or watches " + p.Repo + ":" + p.Tag
	if len(stacks) > 0 {
		desc = "cutover: releasing " + strings.Join(stacks, ", ")
	}
	body, err := json.Marshal(hubState{State: "success", Description: desc, Context: "cutover"})
	if err != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, p.CallbackURL, bytes.NewReader(body))
		if err != nil {
			c.log.Warn("docker hub callback not sent", "push", p, "error", "invalid callback URL")
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.client.Do(req)
		if err != nil {
			// The error quotes the URL; say what happened without it.
			c.log.Warn("docker hub callback failed", "push", p, "error", "the request did not get through")
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			c.log.Warn("docker hub callback refused", "push", p, "status", resp.Status)
			return
		}
		c.log.Debug("docker hub callback sent", "push", p)
	}()
}
