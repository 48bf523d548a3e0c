package lb

import (
	"hash/fnv"
	"net/http"
)

// preference returns the side req goes to first — by the route's sticky
// setting, else by weight — and the side its sticky cookie names ("" when
// none).
func (p *pool) preference(cfg *Route, r *routing, req *http.Request) (pref side, cookie string) {
	st := cfg.Sticky
	if st != nil && st.Cookie != "" {
		if c, err := req.Cookie(st.Cookie); err == nil {
			cookie = c.Value
		}
	}
	if !r.split() {
		return stable, cookie
	}
	switch {
	case st == nil:
	case st.Cookie != "":
		// A side keeps its clients while it has weight.
		switch {
		case cookie == SideCanary && r.weight > 0:
			return canary, cookie
		case cookie == SideStable && r.weight < 100:
			return stable, cookie
		}
	case st.Header != "":
		if v := req.Header[st.Header]; len(v) > 0 && v[0] != "" {
			return hashSide(v[0], r.weight), cookie
		}
	}
	return p.lb.weighted(r), cookie
}

// hashSide is the side a sticky header value lands on at weight: the
// canary when the value's hash, mod 100, is below the weight.
func hashSide(v string, weight int) side {
	h := fnv.New32a()
	h.Write([]byte(v))
	if int(h.Sum32()%100) < weight {
		return canary
	}
	return stable
}

// stickyCookie returns the Set-Cookie value recording served for a client
// whose cookie said had, or "" when the cookie already says it (or the
// route has no sticky cookie, or no split and no cookie to correct).
func stickyCookie(cfg *Route, r *routing, had string, served side) string {
	st := cfg.Sticky
	if st == nil || st.Cookie == "" || had == served.String() || (had == "" && !r.split()) {
		return ""
	}
	return (&http.Cookie{Name: st.Cookie, Value: served.String(), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}).String()
}
