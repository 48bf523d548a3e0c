package dns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKeyFile_ReadsWhatTsigKeygenWrites(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), needBinary(t, "tsig-keygen"), "-a", "hmac-sha512", "deploy-key").Output()
	if err != nil {
		t.Fatalf("tsig-keygen: %v", err)
	}
	path := filepath.Join(t.TempDir(), "deploy.key")
	must(t, os.WriteFile(path, out, 0o600))
	k, err := ReadKeyFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "deploy-key." || k.Algorithm != "hmac-sha512" || !strings.Contains(string(out), `"`+k.Secret+`"`) {
		t.Errorf("key %+v from:\n%s", k, out)
	}
}

func TestParseKey(t *testing.T) {
	const two = `# generated
key "one." { algorithm hmac-sha256; secret "b25l//Zm9v"; }; // "//" inside a secret is not a comment
/* a block
   comment */
key two {
	algorithm HMAC-SHA384;
	secret "dHdv";
};
`
	for _, tc := range []struct {
		desc, text, name string
		want             TSIGKey
		err              string
	}{
		{desc: "named", text: two, name: "two", want: TSIGKey{Name: "two.", Algorithm: "hmac-sha384", Secret: "dHdv"}},
		{desc: "secret with //", text: two, name: "one.", want: TSIGKey{Name: "one.", Algorithm: "hmac-sha256", Secret: "b25l//Zm9v"}},
		{desc: "several, none named", text: two, err: "several keys (one., two)"},
		{desc: "unknown name", text: two, name: "three", err: `no key named "three"`},
		{desc: "no key", text: "options {};", err: "no key statement"},
		{desc: "bad algorithm", text: `key k { algorithm hmac-md5; secret "eA=="; };`, err: `algorithm "hmac-md5"`},
		{desc: "no secret", text: `key k { algorithm hmac-sha256; };`, err: "has no secret"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			k, err := ParseKey(tc.text, tc.name)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || k != tc.want {
				t.Fatalf("got %+v, %v; want %+v", k, err, tc.want)
			}
		})
	}
}
