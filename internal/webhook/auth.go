package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Signature headers: GitHub's, and cutover's own for the generic format
// (same scheme: "sha256=" + hex HMAC-SHA256 of the raw body).
const (
	GitHubSignatureHeader  = "X-Hub-Signature-256"
	GenericSignatureHeader = "X-Cutover-Signature-256"
)

// CheckToken reports whether got equals want, in constant time: both are
// hashed first, so the time taken says nothing about their length or
// content. An empty want (nothing configured) never matches.
func CheckToken(got, want string) bool {
	if want == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// CheckAuthorization reports whether an Authorization header value matches
// the configured want: either the whole value as the sender is configured
// to send it ("Bearer s3cret", "Basic dXNlcjpwYXNz"), or, when want is a
// bare token without a space, "Bearer <want>". Constant time; an empty want
// never matches.
func CheckAuthorization(header, want string) bool {
	exact := CheckToken(header, want)
	token, isBearer := bearerToken(header)
	asBearer := isBearer && !strings.Contains(want, " ") && CheckToken(token, want)
	return exact || asBearer
}

// bearerToken extracts the token of "Bearer <token>" (scheme case-insensitive).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Sign returns the signature header value for body: "sha256=" + the hex
// HMAC-SHA256 of body keyed with secret, as GitHub sends it in
// X-Hub-Signature-256 and CI scripts send it in X-Cutover-Signature-256.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is the signature of the raw body
// under secret ("sha256=<hex>", hex in either case), compared in constant
// time. An empty secret never verifies.
func VerifySignature(secret string, body []byte, header string) bool {
	if secret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
