package nginx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/lb"
)

// TestRouter_SplitSendsTheCanaryItsShare sends 2000 requests through
// nginx at a 10 % canary split and counts where they went.
func TestRouter_SplitSendsTheCanaryItsShare(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.SetSplit(ctx, route.Name, lb.Split{Stable: []string{blue}, Canary: []string{green}, Weight: 10}); err != nil {
		t.Fatal(err)
	}
	got := countAnswers(t, route.Listen, 2000)
	share := 100 * float64(got["green"]) / float64(got["green"]+got["blue"])
	t.Logf("10 %% split: %v (canary %.1f %%)", got, share)
	if share < 7 || share > 13 {
		t.Errorf("the canary got %.1f %% of 2000 requests (%v), want 10 ± 3", share, got)
	}
	if tg, _ := r.Targets(ctx, route.Name); !slices.Equal(tg, []string{blue, green}) {
		t.Errorf("Targets during the split = %v, want stable then canary", tg)
	}

	// Promoting the canary drains the stable target.
	if err := r.SetSplit(ctx, route.Name, lb.Split{Stable: []string{blue}, Canary: []string{green}, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if got := countAnswers(t, route.Listen, 50); got["blue"] != 0 {
		t.Errorf("at 100 %% the stable target still answered: %v", got)
	}
	if err := r.SetSplit(ctx, route.Name, lb.Split{Stable: []string{blue}, Canary: []string{blue}, Weight: 50}); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("a target both stable and canary: %v, want ErrInvalid", err)
	}
}

// countAnswers sends n POSTs from four keep-alive clients and counts the
// answers by body.
func countAnswers(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
			defer client.CloseIdleConnections()
			for range n / 4 {
				resp, err := client.Post("http://"+addr+"/", "text/plain", nil)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				got[string(b)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}
