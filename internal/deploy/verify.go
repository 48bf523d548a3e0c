package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// verify runs a service's x-cutover.verify check on each container: GET
// Path on the container's route port must answer 2xx, and Command, run on
// this host by sh with CUTOVER_TARGET=http://<address>, must exit 0.
func (x *Executor) verify(ctx context.Context, s strategies.Step) error {
	addrs, err := x.addrs(ctx, s.Route, s.Containers)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Verify.Timeout)
	defer cancel()
	for i, addr := range addrs {
		target := "http://" + addr
		if p := s.Verify.Path; p != "" {
			if err := verifyHTTP(ctx, target+p); err != nil {
				return fmt.Errorf("verify GET %s on %s: %w", p, s.Containers[i], err)
			}
		}
		if c := s.Verify.Command; c != "" {
			cmd := exec.CommandContext(ctx, "sh", "-c", c)
			cmd.Env = append(os.Environ(), "CUTOVER_TARGET="+target, "CUTOVER_STACK="+x.Stack, "CUTOVER_SERVICE="+s.Service,
				"CUTOVER_CONTAINER="+s.Containers[i], fmt.Sprintf("CUTOVER_RELEASE=%d", x.Release))
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("verify command on %s: %w: %s", s.Containers[i], err, lastLines(string(out), 10))
			}
		}
	}
	return nil
}

func verifyHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
