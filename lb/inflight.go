package lb

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
)

// trackBody makes closing resp's body release t. A protocol switch
// (WebSocket …) keeps its connection, so its body stays writable, and it is
// also released when the request ends, in case the reverse proxy refuses
// the switch without closing the body.
func trackBody(ctx context.Context, resp *http.Response, t *target) *http.Response {
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		b := &upgradedBody{ReadWriteCloser: rwc, releaser: releaser{t: t}}
		b.stop = context.AfterFunc(ctx, b.release)
		resp.Body = b
		return resp
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body, releaser: releaser{t: t}}
	return resp
}

// releaser releases its target once.
type releaser struct {
	t    *target
	done atomic.Bool
}

func (r *releaser) release() {
	if r.done.CompareAndSwap(false, true) {
		r.t.release()
	}
}

type trackedBody struct {
	io.ReadCloser
	releaser
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

type upgradedBody struct {
	io.ReadWriteCloser
	releaser
	stop func() bool
}

func (b *upgradedBody) Close() error {
	err := b.ReadWriteCloser.Close()
	b.stop()
	b.release()
	return err
}
