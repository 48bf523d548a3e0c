package registry

import "strings"

// challenge is one WWW-Authenticate challenge: a scheme ("bearer",
// "basic", lower-cased) and its parameters (realm, service, scope …).
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges parses WWW-Authenticate header values, e.g.
// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"`.
// A value may hold several challenges ("Basic realm=x, Bearer realm=y").
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		s := v
		var cur *challenge
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			tok, rest := token(s)
			if tok == "" {
				break // not a token: give up on the rest of this value
			}
			r := strings.TrimLeft(rest, " \t")
			if !strings.HasPrefix(r, "=") || cur == nil {
				// A scheme starts a new challenge.
				out = append(out, challenge{scheme: strings.ToLower(tok), params: map[string]string{}})
				cur = &out[len(out)-1]
				s = rest
				continue
			}
			r = strings.TrimLeft(r[1:], " \t")
			var val string
			if strings.HasPrefix(r, `"`) {
				val, s = quoted(r)
			} else {
				val, s = token(r)
			}
			cur.params[strings.ToLower(tok)] = val
		}
	}
	return out
}

// token splits off a leading HTTP token (RFC 9110 tchar, plus the "/" and
// ":" some registries leave unquoted in scope values).
func token(s string) (tok, rest string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == ',' || c == '=' || c == '"' {
			break
		}
		i++
	}
	return s[:i], s[i:]
}

// quoted splits off a quoted string starting at s[0] == '"', unescaping
// backslash pairs.
func quoted(s string) (val, rest string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// find returns the first challenge of a scheme.
func find(chs []challenge, scheme string) (challenge, bool) {
	for _, c := range chs {
		if c.scheme == scheme {
			return c, true
		}
	}
	return challenge{}, false
}
