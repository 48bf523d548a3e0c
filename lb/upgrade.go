package lb

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// upgrade passes a protocol switch (WebSocket …) through: it sends the
// target's 101 to the client, then copies bytes both ways until either
// side closes or the proxy closes. The connection then leaves its
// listener (a shutdown does not wait for it) and its request stays in
// flight on t until it ends. It returns when the connection closed, and
// reports false: the connection is done with HTTP.
func (c *serverConn) upgrade(t *target, bc *backendConn, req *http.Request, resp *http.Response, o *outbound) bool {
	c.watch.disarm()
	got := resp.Header.Get("Upgrade")
	if err := c.joinBody(bc); err != nil || o.upgrade == "" || !strings.EqualFold(got, o.upgrade) {
		bc.Close()
		c.backend.Store(nil)
		t.release()
		err = errors.Join(err, errors.New("target switched protocols to "+got+", asked "+o.upgrade))
		t.fail(err)
		c.replyError(req, http.StatusBadGateway, "bad gateway: the target switched protocols unasked\n", true)
		return false
	}
	writeStatusLine(c.bw, resp)
	writeHeaders(c.bw, resp.Header, connectionListed(resp.Header))
	c.bw.WriteString("Connection: Upgrade\r\n")
	writeHeader(c.bw, "Upgrade", got)
	c.bw.WriteString("\r\n")
	if err := c.flush(); err != nil {
		bc.Close()
		c.backend.Store(nil)
		t.release()
		return false
	}

	// From here the connection is the upgrade's: finish leaves it alone.
	if !c.state.CompareAndSwap(connActive, connUpgraded) {
		bc.Close() // aborted by a shutdown meanwhile
		c.backend.Store(nil)
		t.release()
		return false
	}
	c.l.untrack(c)
	c.backend.Store(nil)
	c.nc.SetReadDeadline(time.Time{})
	c.splice(t, bc)
	return false
}

// splice copies between the client and the target until one side ends,
// then closes both and releases t.
func (c *serverConn) splice(t *target, bc *backendConn) {
	closeBoth := func() {
		c.nc.Close()
		bc.Close()
	}
	stop := context.AfterFunc(c.l.env.ctx, closeBoth)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(bc.Conn, c.br) // client → target, with what the client sent early
		closeBoth()
	}()
	_, _ = io.Copy(c.nc, bc.br) // target → client, with what the target sent early
	closeBoth()
	<-done
	stop()
	t.release()
	c.l.env.buffers.putReader(c.br)
	c.l.env.buffers.putWriter(c.bw)
}
