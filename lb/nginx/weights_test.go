package nginx

import (
	"slices"
	"testing"

	"github.com/cutover/cutover/lb"
)

func TestSplitServers(t *testing.T) {
	for _, tc := range []struct {
		desc string
		s    lb.Split
		want []server
	}{
		{"10 % with one target each", lb.Split{Stable: []string{"s:1"}, Canary: []string{"c:1"}, Weight: 10},
			[]server{{"s:1", 9}, {"c:1", 1}}},
		{"10 % with three stable targets", lb.Split{Stable: []string{"s:1", "s:2", "s:3"}, Canary: []string{"c:1"}, Weight: 10},
			[]server{{"s:1", 3}, {"s:2", 3}, {"s:3", 3}, {"c:1", 1}}},
		{"50 % with two canary targets", lb.Split{Stable: []string{"s:1"}, Canary: []string{"c:1", "c:2"}, Weight: 50},
			[]server{{"s:1", 2}, {"c:1", 1}, {"c:2", 1}}},
		{"33 %", lb.Split{Stable: []string{"s:1"}, Canary: []string{"c:1"}, Weight: 33},
			[]server{{"s:1", 67}, {"c:1", 33}}},
		{"0 % leaves the canary out", lb.Split{Stable: []string{"s:1"}, Canary: []string{"c:1"}, Weight: 0},
			[]server{{"s:1", 1}}},
		{"100 % leaves the stable targets out", lb.Split{Stable: []string{"s:1"}, Canary: []string{"c:1"}, Weight: 100},
			[]server{{"c:1", 1}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := splitServers(tc.s)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("splitServers(%+v) = %v, want %v", tc.s, got, tc.want)
			}
			// The canary's share of requests is the weight asked for.
			var canary, total int
			for _, sv := range got {
				total += sv.weight
				if slices.Contains(tc.s.Canary, sv.addr) {
					canary += sv.weight
				}
			}
			if canary*100 != tc.s.Weight*total {
				t.Errorf("canary gets %d/%d of requests, want %d %%", canary, total, tc.s.Weight)
			}
		})
	}
}
