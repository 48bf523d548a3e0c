package registry

import (
	"reflect"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		values []string
		want   []challenge
	}{
		{"docker hub", []string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"`},
			[]challenge{{"bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/nginx:pull"}}}},
		{"basic", []string{`Basic realm="Registry Realm"`},
			[]challenge{{"basic", map[string]string{"realm": "Registry Realm"}}}},
		{"two in one value, spaces and an unquoted value", []string{`Basic realm=x, Bearer realm = "https://a/token" , service=reg`},
			[]challenge{{"basic", map[string]string{"realm": "x"}}, {"bearer", map[string]string{"realm": "https://a/token", "service": "reg"}}}},
		{"escaped quote", []string{`Bearer realm="a\"b"`},
			[]challenge{{"bearer", map[string]string{"realm": `a"b`}}}},
		{"scope with several actions", []string{`Bearer realm="r",scope="repository:a/b:pull,push"`},
			[]challenge{{"bearer", map[string]string{"realm": "r", "scope": "repository:a/b:pull,push"}}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := parseChallenges(tc.values); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseChallenges(%q) =\n %v\nwant\n %v", tc.values, got, tc.want)
			}
		})
	}
}
