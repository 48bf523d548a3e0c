package nginx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadClient is one kind of client the load runs.
type loadClient struct {
	kind string
	// keepAlive: one connection reused from request to request, as
	// browsers and HTTP client libraries do; else a new one each time.
	keepAlive bool
	every     time.Duration // pause between two requests
}

// loadResult counts what the clients saw. Every request is a POST with a
// body, which Go's client never sends twice: a request a reload breaks
// is a failure here (a GET would be re-sent silently on a new connection,
// hiding it).
type loadResult struct {
	requests, failed, reused int
	answers                  map[string]int // body → count
	failures                 []string       // the first few
}

// load sends POSTs to addr from every client until stopped.
type load struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	results map[string]*loadResult // by client kind
}

func startLoad(addr string, clients []loadClient) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, results: make(map[string]*loadResult)}
	// Every kind's result first: the clients read the map as they record.
	for _, c := range clients {
		if l.results[c.kind] == nil {
			l.results[c.kind] = &loadResult{answers: make(map[string]int)}
		}
	}
	for _, c := range clients {
		l.wg.Go(func() { l.run(ctx, addr, c) })
	}
	return l
}

func (l *load) run(ctx context.Context, addr string, c loadClient) {
	tr := &http.Transport{DisableKeepAlives: !c.keepAlive, MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodPost, "http://"+addr+"/", strings.NewReader("ping"))
		if err != nil {
			panic(err)
		}
		body, err := post(client, req)
		l.record(c.kind, body, reused, err)
	}
}

func post(client *http.Client, req *http.Request) (string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func (l *load) record(kind, body string, reused bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.results[kind]
	r.requests++
	if reused {
		r.reused++
	}
	if err != nil {
		r.failed++
		if len(r.failures) < 5 {
			r.failures = append(r.failures, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
		}
		return
	}
	r.answers[body]++
}

// stop ends the load and returns the results by client kind.
func (l *load) stop() map[string]*loadResult {
	l.cancel()
	l.wg.Wait()
	return l.results
}

// TestRouter_NoFailedRequestsDuringSwitches switches a route between two
// targets ten times while keep-alive and fresh-connection clients send
// POSTs through nginx, and counts every request that failed.
//
// Each switch reloads nginx, and a reload closes every client connection
// that is idle between two requests at that moment: a client whose next
// request is already on its way gets an error (measured without the
// reload notice: see docs/routers/nginx.md). The reload notice has nginx
// answer "Connection: close" for a while before the reload, so every
// client sending requests meanwhile moves to connections the reload does
// not close under it. These clients send more often than the notice lasts.
func TestRouter_NoFailedRequestsDuringSwitches(t *testing.T) {
	blue, green := backend(t, "blue"), backend(t, "green")
	n := startNginx(t)
	r := newRouter(t, n.config())
	route := testRoute(t, "shop/web")
	ensure(t, r, route)
	switchTo(t, r, route.Name, blue)

	var clients []loadClient
	for range 6 {
		clients = append(clients, loadClient{kind: "keep-alive", keepAlive: true, every: 5 * time.Millisecond})
	}
	for range 3 {
		clients = append(clients, loadClient{kind: "fresh connection", every: 10 * time.Millisecond})
	}
	l := startLoad(route.Listen, clients)
	time.Sleep(200 * time.Millisecond)
	for i := range 10 {
		to := green
		if i%2 == 1 {
			to = blue
		}
		switchTo(t, r, route.Name, to)
		time.Sleep(300 * time.Millisecond) // keep-alive as usual between two switches
	}
	time.Sleep(200 * time.Millisecond)
	results := l.stop()

	for kind, res := range results {
		t.Logf("%s: %d POSTs, %d failed, %d on a reused connection, answers %v", kind, res.requests, res.failed, res.reused, res.answers)
		if res.failed > 0 {
			t.Errorf("%s clients: %d of %d requests failed during 10 switches; first: %s",
				kind, res.failed, res.requests, strings.Join(res.failures, "; "))
		}
		if res.answers["blue"] == 0 || res.answers["green"] == 0 {
			t.Errorf("%s clients: answers %v, want both blue and green", kind, res.answers)
		}
	}
	if ka := results["keep-alive"]; ka.reused < ka.requests/2 {
		t.Errorf("keep-alive clients reused a connection for %d of %d requests: the load did not test keep-alive", ka.reused, ka.requests)
	}
}
