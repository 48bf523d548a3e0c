package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	const out = `Running 10s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.10us  300.20us  12.01ms   90.00%
    Req/Sec    30.12k     1.20k   33.00k    70.00%
  Latency Distribution
     50%  450.00us
     75%  600.00us
     90%  800.00us
     99%    1.50ms
  600000 requests in 10.00s, 80.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  60000.50
Transfer/sec:      8.00MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{rps: 60000.50, requests: 600000, p50: 450 * time.Microsecond, p99: 1500 * time.Microsecond, errors: 7}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("parseWrk accepted output without figures")
	}
}
