package compose

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cutover/cutover/strategies"
)

// updatePolicy resolves a service's rolling policy: cutover's defaults,
// then the stack's x-cutover.rolling, then the service's compose
// deploy.update_config (or rollback_config). CLI flags apply later.
func updatePolicy(stack *Rolling, svc *types.UpdateConfig) strategies.UpdatePolicy {
	p := strategies.UpdatePolicy{
		BatchSize:     DefaultBatchSize,
		Order:         DefaultOrder,
		FailureAction: DefaultFailureAction,
		Monitor:       DefaultMonitor,
	}
	if r := stack; r != nil {
		if r.BatchSize != nil {
			p.BatchSize = *r.BatchSize
		}
		if r.Interval != nil {
			p.Interval = time.Duration(*r.Interval)
		}
		if r.Order != "" {
			p.Order = r.Order
		}
		if r.FailureAction != "" {
			p.FailureAction = r.FailureAction
		}
		if r.Monitor != nil {
			p.Monitor = time.Duration(*r.Monitor)
		}
		if r.MaxFailureRatio != nil {
			p.MaxFailureRatio = *r.MaxFailureRatio
		}
		p.AllowStopFirst = r.AllowStopFirst
	}
	if u := svc; u != nil {
		if u.Parallelism != nil {
			// As in swarm and the compose spec, 0 means all at once.
			p.BatchSize = strategies.BatchAll
			if *u.Parallelism > 0 && *u.Parallelism < uint64(strategies.BatchAll) {
				p.BatchSize = int(*u.Parallelism)
			}
		}
		if u.Delay != 0 {
			p.Interval = time.Duration(u.Delay)
		}
		if u.Order != "" {
			p.Order = u.Order
		}
		if u.FailureAction != "" {
			p.FailureAction = u.FailureAction
		}
		if u.Monitor != 0 {
			p.Monitor = time.Duration(u.Monitor)
		}
		if u.MaxFailureRatio != 0 {
			p.MaxFailureRatio = float32Decimal(u.MaxFailureRatio)
		}
	}
	return p
}

// float32Decimal widens a float32 to the float64 of the decimal it was
// written as: compose-go keeps max_failure_ratio as a float32, and
// float64(float32(0.7)) is 0.699999988…, which would tolerate 6 failed
// containers of 10 instead of 7.
func float32Decimal(f float32) float64 {
	d, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f)
	}
	return d
}

// fixedHostPorts lists the host ports a service publishes at a fixed
// number (not "", not 0), as "8080/tcp".
func fixedHostPorts(svc types.ServiceConfig) []string {
	var out []string
	for _, p := range svc.Ports {
		if p.Published == "" || p.Published == "0" {
			continue
		}
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		host := p.Published
		if p.HostIP != "" {
			host = p.HostIP + ":" + host
		}
		out = append(out, host+"/"+proto)
	}
	sort.Strings(out)
	return out
}

// validateUpdateConfig checks compose's own update/rollback config words.
func validateUpdateConfig(where string, u *types.UpdateConfig) error {
	if u == nil {
		return nil
	}
	if err := ValidateOrder(u.Order); err != nil {
		return prefixErr(where+".order", err)
	}
	if u.FailureAction != "" && !oneOf(u.FailureAction, FailureRollback, FailurePause, FailureContinue) {
		return prefixErr(where+".failure_action", ValidateFailureAction(u.FailureAction))
	}
	if u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1 {
		return prefixErr(where+".max_failure_ratio", errString("must be between 0 and 1, got "+strconv.FormatFloat(float64(u.MaxFailureRatio), 'g', -1, 32)))
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

func prefixErr(field string, err error) error {
	return errString(field + ": " + strings.TrimSpace(err.Error()))
}
