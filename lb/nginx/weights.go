package nginx

import "github.com/cutover/cutover/lb"

// splitServers maps a canary split to upstream weights. nginx's weighted
// round robin gives each server requests in proportion to its weight, so
// every canary server gets weight Weight×len(Stable) and every stable one
// (100−Weight)×len(Canary), reduced by their greatest common divisor: the
// canary's share of requests is then exactly Weight percent whatever the
// number of targets on each side (10 % with one target each: 1 and 9).
// A side with weight 0 is left out: nginx has no weight-0 server.
func splitServers(s lb.Split) []server {
	if s.Weight <= 0 {
		return weighted(s.Stable, 1)
	}
	if s.Weight >= 100 {
		return weighted(s.Canary, 1)
	}
	wc := s.Weight * len(s.Stable)
	ws := (100 - s.Weight) * len(s.Canary)
	g := gcd(wc, ws)
	return append(weighted(s.Stable, ws/g), weighted(s.Canary, wc/g)...)
}

func weighted(addrs []string, w int) []server {
	out := make([]server, len(addrs))
	for i, a := range addrs {
		out[i] = server{addr: a, weight: w}
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
