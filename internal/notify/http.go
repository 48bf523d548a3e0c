package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// poster sends JSON bodies to webhooks with retries.
type poster struct {
	client *retryablehttp.Client
}

// statusError is a webhook's non-2xx answer.
type statusError struct {
	status   string
	body     string
	attempts int
}

func (e *statusError) Error() string {
	s := "answered " + e.status
	if e.body != "" {
		s += ": " + e.body
	}
	if e.attempts > 1 {
		s += fmt.Sprintf(" (%d attempts)", e.attempts)
	}
	return s
}

func newPoster(o Options, logger *slog.Logger) *poster {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if o.TLSConfig != nil {
		transport.TLSClientConfig = o.TLSConfig.Clone()
	}
	return &poster{client: &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: transport,
			Timeout:   o.AttemptTimeout,
			// A webhook that redirects is misconfigured; following a
			// redirect would turn the POST into a GET elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryMax:     o.RetryMax,
		RetryWaitMin: o.RetryWaitMin,
		RetryWaitMax: o.RetryWaitMax,
		CheckRetry:   retryPolicy,
		Backoff:      cappedBackoff,
		ErrorHandler: passthrough,
		// No Logger: the library would log full URLs, and Slack's carry
		// the secret. Retries get one debug line with the URL redacted.
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, n int) {
			if c, ok := req.Context().Value(attemptsKey{}).(*atomic.Int32); ok {
				c.Store(int32(n + 1))
			}
			if n > 0 {
				logger.Debug("retrying notification", "url", RedactURL(req.URL.String()), "attempt", n+1)
			}
		},
	}}
}

// retryPolicy retries connection errors, 429 and 5xx (not 501), never
// other 4xx answers, which a retry would not change.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	c := resp.StatusCode
	return c == 0 || c == http.StatusTooManyRequests || (c >= 500 && c != http.StatusNotImplemented), nil
}

// cappedBackoff waits exponentially, honours Retry-After on 429 and 503,
// and never waits longer than max: a notification is not worth holding a
// queue for minutes.
func cappedBackoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	wait := retryablehttp.DefaultBackoff(minWait, maxWait, attempt, resp)
	if wait > maxWait || wait <= 0 {
		wait = maxWait
	}
	return wait
}

// attemptsKey is the context key of a request's attempt counter, which
// the request hook keeps up to date.
type attemptsKey struct{}

// passthrough hands the last answer (or error) to post, which explains
// it, instead of the library's error that quotes the full URL.
func passthrough(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil && resp != nil {
		drain(resp.Body)
		resp = nil
	}
	return resp, err
}

// post sends body to url as JSON with headers; 2xx is success.
func (p *poster) post(ctx context.Context, url string, body []byte, headers http.Header) error {
	var attempts atomic.Int32
	ctx = context.WithValue(ctx, attemptsKey{}, &attempts)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return scrubURLError(err, "POST", url)
	}
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cutover")

	resp, err := p.client.Do(req)
	if err != nil {
		err = scrubURLError(err, "POST", url)
		if n := attempts.Load(); n > 1 {
			err = fmt.Errorf("%w (%d attempts)", err, n)
		}
		return err
	}
	defer drain(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return scrubURLError(&statusError{
		status: resp.Status, body: oneLine(string(bytes.ToValidUTF8(snippet, []byte("?")))), attempts: int(attempts.Load()),
	}, "POST", url)
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}

// tlsConfig returns a copy of the configured TLS settings for host.
func tlsConfig(base *tls.Config, host string) *tls.Config {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}
