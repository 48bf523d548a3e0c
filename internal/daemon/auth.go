package daemon

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/cutover/cutover/internal/daemon/api"
)

// requireToken lets through only requests carrying
// "Authorization: Bearer <token>". Both sides are hashed first, so the
// comparison takes the same time whatever the length or content of the
// token sent. The token is never logged.
func requireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
			writeError(w, api.Error{Kind: api.KindUnauthorized,
				Message: "missing or wrong bearer token: set CUTOVER_TOKEN or --token-file to the daemon's token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the token of an Authorization header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
