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

// The sides of a split, as Status and the sticky cookie name them.
const (
	SideStable = "stable"
	SideCanary = "canary"
)

// Sticky keeps a client on one side of a canary split, so that it sees one
// version of the service. Set one field.
type Sticky struct {
	// Cookie names a cookie the proxy sets to the side that served the
	// client ("stable" or "canary"); later requests carrying it go to that
	// side while it has weight and a healthy target.
	Cookie string `json:"cookie,omitempty"`
	// Header names a request header (a user or session id …) whose value's
	// hash picks the side: the same value always lands on the same side
	// for a given weight, and raising the weight only moves clients from
	// stable to canary. Requests without it are split by weight.
	Header string `json:"header,omitempty"`
}

// validate reports what makes s unusable.
func (s *Sticky) validate() error {
	switch {
	case (s.Cookie == "") == (s.Header == ""):
		return fmt.Errorf("sticky: set one of cookie and header (cookie %q, header %q)", s.Cookie, s.Header)
	case s.Cookie != "" && !validToken(s.Cookie):
		return fmt.Errorf("sticky: cookie name %q is not a token", s.Cookie)
	case s.Header != "" && !validToken(s.Header):
		return fmt.Errorf("sticky: header name %q is not a token", s.Header)
	}
	return nil
}
