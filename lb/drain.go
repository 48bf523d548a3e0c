package lb

import (
	"context"
	"fmt"
	"time"
)

// drain waits until every target in left has no request in flight, the
// route's drain timeout passes, or ctx or the proxy ends. A timeout is not
// an error: the requests still in flight run on, the targets stay listed as
// draining until they finish, and their connections close then. An ended
// ctx is an error (the switch itself has happened).
func (p *pool) drain(ctx context.Context, left []*target) error {
	if len(left) == 0 {
		return nil
	}
	timeout := p.config().DrainTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for i, t := range left {
		select {
		case <-t.drained:
		case <-timer.C:
			for _, t := range left[i:] {
				if n := t.inFlight.Load(); n > 0 {
					p.log.Warn("drain timeout: requests still in flight", "target", t.addr,
						"in_flight", n, "timeout", timeout)
				}
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("route %s: targets switched, drain of %s cut short: %w", p.name(), t.addr, ctx.Err())
		case <-p.ctx.Done():
			return fmt.Errorf("route %s: targets switched, drain of %s cut short: %w", p.name(), t.addr, ErrClosed)
		}
	}
	return nil
}
