package dns

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// TSIGKey is a TSIG key as BIND's key files hold it.
type TSIGKey struct {
	Name      string // "cutover." (fully qualified)
	Algorithm string // "hmac-sha256"
	Secret    string // base64
}

// keyClause matches a BIND key statement: key "NAME" { algorithm A; secret "S"; };
var keyClause = regexp.MustCompile(`(?s)\bkey\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;`)

// Patterns of the statements inside a key clause.
var (
	keyAlgorithm = regexp.MustCompile(`algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;`)
	keySecret    = regexp.MustCompile(`secret\s+"([^"]+)"\s*;`)
)

// ReadKeyFile reads a TSIG key from a BIND key file, as written by
// `tsig-keygen -a hmac-sha256 NAME` or `ddns-confgen`. With several keys
// in the file, name picks one ("" takes the only one).
func ReadKeyFile(path, name string) (TSIGKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return TSIGKey{}, fmt.Errorf("tsig key file: %w", err)
	}
	k, err := ParseKey(string(data), name)
	if err != nil {
		return TSIGKey{}, fmt.Errorf("tsig key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKey reads a TSIG key from the text of a BIND key statement.
func ParseKey(text, name string) (TSIGKey, error) {
	text = stripComments(text)
	var keys []TSIGKey
	for _, m := range keyClause.FindAllStringSubmatch(text, -1) {
		k := TSIGKey{Name: m[1]}
		if a := keyAlgorithm.FindStringSubmatch(m[2]); a != nil {
			k.Algorithm = a[1]
		}
		if s := keySecret.FindStringSubmatch(m[2]); s != nil {
			k.Secret = s[1]
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return TSIGKey{}, fmt.Errorf(`no key statement (want key "NAME" { algorithm hmac-sha256; secret "..."; };)`)
	}
	var picked *TSIGKey
	names := make([]string, len(keys))
	for i := range keys {
		names[i] = keys[i].Name
		if name == "" || strings.EqualFold(strings.TrimSuffix(keys[i].Name, "."), strings.TrimSuffix(name, ".")) {
			if picked != nil && name == "" {
				return TSIGKey{}, fmt.Errorf("several keys (%s): name the one to use", strings.Join(names, ", "))
			}
			if picked == nil {
				picked = &keys[i]
			}
		}
	}
	if picked == nil {
		return TSIGKey{}, fmt.Errorf("no key named %q (keys: %s)", name, strings.Join(names, ", "))
	}
	k := *picked
	if k.Secret == "" {
		return TSIGKey{}, fmt.Errorf("key %q has no secret", k.Name)
	}
	if k.Algorithm == "" {
		return TSIGKey{}, fmt.Errorf("key %q has no algorithm", k.Name)
	}
	alg, err := tsigAlgorithm(k.Algorithm)
	if err != nil {
		return TSIGKey{}, fmt.Errorf("key %q: %w", k.Name, err)
	}
	k.Algorithm = algorithmName(alg)
	if k.Name, err = canonicalName(k.Name); err != nil {
		return TSIGKey{}, fmt.Errorf("key name: %w", err)
	}
	return k, nil
}

// stripComments removes BIND comments (# …, // … and /* … */) outside
// quoted strings (a base64 secret may hold "//").
func stripComments(s string) string {
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '#' || (c == '/' && i+1 < len(s) && s[i+1] == '/'):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			c = '\n'
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			i += 2 + end + 1
			c = ' '
		}
		b.WriteByte(c)
	}
	return b.String()
}
