package lb

import "fmt"

// Split is a canary traffic split on one route: Weight percent of new
// requests go to the Canary targets, the rest to the Stable ones. A split
// with Weight 0 sends everything to Stable; Weight 100 everything to
// Canary. Routers map it to what they can do: the proxy splits per
// request, nginx sets upstream weights, DNS weights its answers.
type Split struct {
	Stable []string `json:"stable"`
	Canary []string `json:"canary,omitempty"`
	// Weight is the canary's share of new requests, 0–100.
	Weight int `json:"weight"`
}

// Validate reports a split no router can apply.
func (s Split) Validate() error {
	if s.Weight < 0 || s.Weight > 100 {
		return fmt.Errorf("canary weight %d: want 0–100", s.Weight)
	}
	if s.Weight > 0 && len(s.Canary) == 0 {
		return fmt.Errorf("canary weight %d with no canary targets", s.Weight)
	}
	if s.Weight < 100 && len(s.Stable) == 0 {
		return fmt.Errorf("canary weight %d with no stable targets", s.Weight)
	}
	return nil
}
