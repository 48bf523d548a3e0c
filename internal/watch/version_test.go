package watch

import (
	"testing"
)

func TestNewer(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1.4.3", "1.4.2", true},
		{"1.4.2", "1.4.3", false},
		{"1.10.0", "1.9.0", true}, // numerically, not as text
		{"v2.0.0", "1.9.9", true},
		{"1.5.0", "1.5.0-rc.2", true},
		{"1.5.0-rc.10", "1.5.0-rc.9", true},
		{"v1.2.3_def", "v1.2.3_abc", false}, // same version: the last to arrive wins
		{"1.4.2", "1.4.2", false},
		{"latest", "1.4.2", false}, // not both versions
		{"1.4.2", "latest", false},
		{"v1.3", "v1.2", false}, // partial versions are moving tags, not versions
		{"qa", "qa", false},
	}
	for _, tt := range tests {
		if got := Newer(tt.a, tt.b); got != tt.want {
			t.Errorf("Newer(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// A burst of accepted pushes coalesces into the newest; ties go to the last
// arrival.
func TestNewer_CoalesceBurst(t *testing.T) {
	for _, tt := range []struct {
		burst []string
		want  string
	}{
		{[]string{"1.4.3", "1.5.0", "1.4.4"}, "1.5.0"}, // a late backport does not win
		{[]string{"v1.2.3_abc", "v1.2.3", "v1.2.3_def"}, "v1.2.3_def"},
		{[]string{"qa", "qa", "qa"}, "qa"},
		{[]string{"release-1", "release-3", "release-2"}, "release-2"}, // no versions: arrival order
	} {
		held := tt.burst[0]
		for _, incoming := range tt.burst[1:] {
			if !Newer(held, incoming) {
				held = incoming
			}
		}
		if held != tt.want {
			t.Errorf("burst %v coalesced to %q, want %q", tt.burst, held, tt.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for tag, want := range map[string]string{
		"1.4.2":          "1.4.2",
		"v1.4.2":         "1.4.2",
		"v1.2.3_7ac6010": "1.2.3+7ac6010",
		"2.0.0-rc.1":     "2.0.0-rc.1",
		"1.4":            "",
		"v1":             "",
		"latest":         "",
		"01.2.3":         "",
		"1.2.3.4":        "",
		"vv1.2.3":        "",
	} {
		v, ok := parseVersion(tag)
		got := ""
		if ok {
			got = v.String()
		}
		if got != want {
			t.Errorf("parseVersion(%q) = %q, want %q", tag, got, want)
		}
	}
}
