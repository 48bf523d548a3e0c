package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// serverError is an answer the registry kept giving (5xx) until the client
// gave up retrying.
type serverError struct {
	status   string
	attempts int
}

func (e *serverError) Error() string {
	return fmt.Sprintf("answered %s (%d attempts)", e.status, e.attempts)
}

// newHTTP returns the retrying HTTP client every registry request goes
// through: it retries connection errors and 5xx answers (not 501), never
// 4xx ones, which Digest answers itself.
func newHTTP(o Options, logger *slog.Logger) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: o.Transport, Timeout: o.Timeout},
		RetryMax:     o.RetryMax,
		RetryWaitMin: o.RetryWaitMin,
		RetryWaitMax: o.RetryWaitMax,
		CheckRetry:   retryPolicy,
		Backoff:      cappedBackoff,
		ErrorHandler: giveUp,
		// The library's own logging says "[ERR]" for every failed attempt;
		// one debug line per retry is enough.
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, n int) {
			if n > 0 {
				logger.Debug("retrying registry request", "method", req.Method, "url", req.URL.Redacted(), "attempt", n+1)
			}
		},
	}
}

// retryPolicy retries what may go away by itself: connection errors and
// server errors. 429 is not retried: Digest returns a RateLimitError so
// that a periodic checker backs off for as long as the registry asks.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return resp.StatusCode == 0 || (resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented), nil
}

// cappedBackoff waits exponentially between min and max, and never longer
// than max even when a 503 carries a long Retry-After.
func cappedBackoff(minWait, maxWait time.Duration, attempt int, _ *http.Response) time.Duration {
	wait := time.Duration(float64(minWait) * math.Pow(2, float64(attempt)))
	if wait > maxWait || wait <= 0 {
		wait = maxWait
	}
	return wait
}

// giveUp turns a final 5xx answer into a serverError and passes 4xx
// answers through to the caller, which explains them.
func giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		if attempts > 1 {
			return nil, fmt.Errorf("%w (%d attempts)", err, attempts)
		}
		return nil, err
	}
	if resp != nil && (resp.StatusCode == 0 || resp.StatusCode >= 500) {
		drain(resp.Body)
		return nil, &serverError{status: resp.Status, attempts: attempts}
	}
	return resp, nil
}

// drain reads a little of body, so the connection can be reused, and
// closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}
