package lb

// Split returns the route's active targets as a split, read from one
// routing snapshot, and whether the route has a canary set. Without one
// (after SetTargets, or SetSplit with no canary) every active target is in
// Stable and Weight is 0, so the result always describes what the route
// serves: whoever saves it (the daemon's routing table) applies it again
// with SetSplit and gets the same traffic shares back.
//
// It is one read because Targets alone loses the split (it lists stable
// then canary targets as one set), and a Targets call followed by a
// second read could see two different switches.
func (p *Proxy) Split(name string) (Split, bool, error) {
	pl, err := p.route(name)
	if err != nil {
		return Split{}, false, err
	}
	r := pl.lb.load()
	s := Split{Stable: r.sets[stable].addrs(), Canary: r.sets[canary].addrs(), Weight: r.weight}
	if !r.split() {
		s.Canary, s.Weight = nil, 0 // the weight plays no part without a canary
	}
	return s, r.split(), nil
}

// addrs returns the set's addresses in rotation order.
func (s targetSet) addrs() []string {
	out := make([]string, len(s))
	for i, t := range s {
		out[i] = t.addr
	}
	return out
}
