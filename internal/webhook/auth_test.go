package webhook

import (
	"strings"
	"testing"
)

// The test vector GitHub documents for X-Hub-Signature-256.
const (
	ghVectorSecret = "It's a Secret to Everybody"
	ghVectorBody   = "Hello, World!"
	ghVectorSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestSign_GitHubVector(t *testing.T) {
	if got := Sign(ghVectorSecret, []byte(ghVectorBody)); got != ghVectorSig {
		t.Errorf("Sign = %s, want %s", got, ghVectorSig)
	}
}

func TestVerifySignature(t *testing.T) {
	tests := []struct {
		desc, secret, body, header string
		want                       bool
	}{
		{"GitHub's vector", ghVectorSecret, ghVectorBody, ghVectorSig, true},
		{"upper-case hex", ghVectorSecret, ghVectorBody, "sha256=" + strings.ToUpper(strings.TrimPrefix(ghVectorSig, "sha256=")), true},
		{"wrong secret", "It's a secret to nobody", ghVectorBody, ghVectorSig, false},
		{"body changed after signing", ghVectorSecret, ghVectorBody + " ", ghVectorSig, false},
		{"no sha256= prefix", ghVectorSecret, ghVectorBody, strings.TrimPrefix(ghVectorSig, "sha256="), false},
		{"sha1 signature", ghVectorSecret, ghVectorBody, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", false},
		{"truncated", ghVectorSecret, ghVectorBody, ghVectorSig[:40], false},
		{"not hex", ghVectorSecret, ghVectorBody, "sha256=" + strings.Repeat("zz", 32), false},
		{"missing header", ghVectorSecret, ghVectorBody, "", false},
		{"no secret configured", "", ghVectorBody, Sign("", []byte(ghVectorBody)), false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := VerifySignature(tt.secret, []byte(tt.body), tt.header); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckToken(t *testing.T) {
	tests := []struct {
		got, want string
		ok        bool
	}{
		{"Zq3-long-url-token", "Zq3-long-url-token", true},
		{"Zq3-long-url-toke", "Zq3-long-url-token", false},
		{"zq3-long-url-token", "Zq3-long-url-token", false},
		{"", "Zq3-long-url-token", false},
		{"", "", false}, // nothing configured: nothing gets in
		{"anything", "", false},
	}
	for _, tt := range tests {
		if ok := CheckToken(tt.got, tt.want); ok != tt.ok {
			t.Errorf("CheckToken(%q, %q) = %v, want %v", tt.got, tt.want, ok, tt.ok)
		}
	}
}

func TestCheckAuthorization(t *testing.T) {
	tests := []struct {
		desc, header, want string
		ok                 bool
	}{
		{"configured as the whole header", "Bearer s3cret", "Bearer s3cret", true},
		{"configured as a bare token", "Bearer s3cret", "s3cret", true},
		{"scheme in any case", "bearer s3cret", "s3cret", true},
		{"registry sends the bare value", "s3cret", "s3cret", true},
		{"basic auth configured", "Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz", true},
		{"wrong token", "Bearer guess", "s3cret", false},
		{"basic configured, bearer sent", "Bearer dXNlcjpwYXNz", "Basic dXNlcjpwYXNz", false},
		{"missing header", "", "s3cret", false},
		{"nothing configured", "", "", false},
		{"nothing configured, bearer sent", "Bearer ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if ok := CheckAuthorization(tt.header, tt.want); ok != tt.ok {
				t.Errorf("CheckAuthorization(%q, %q) = %v, want %v", tt.header, tt.want, ok, tt.ok)
			}
		})
	}
}
