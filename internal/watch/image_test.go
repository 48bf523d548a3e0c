package watch

import (
	"testing"
)

func TestSplitImage(t *testing.T) {
	const dig = "sha256:3a2e8954befdbd6e7eac2f10d4301a2923cd65a5f38bf80914019b55a03f78c4"
	tests := []struct {
		image, repo, tag string
	}{
		{"myorg/web:1.4.2", "docker.io/myorg/web", "1.4.2"},
		{"nginx", "docker.io/library/nginx", "latest"},
		{"127.0.0.1:5000/web:v1", "127.0.0.1:5000/web", "v1"},
		{"ghcr.io/org/app:v1@" + dig, "ghcr.io/org/app", "v1"},
		{"ghcr.io/org/app@" + dig, "ghcr.io/org/app", ""},
	}
	for _, tt := range tests {
		repo, tag, err := SplitImage(tt.image)
		if err != nil || repo != tt.repo || tag != tt.tag {
			t.Errorf("SplitImage(%q) = %q, %q, %v; want %q, %q", tt.image, repo, tag, err, tt.repo, tt.tag)
		}
	}
	if _, _, err := SplitImage("My Org/web"); err == nil {
		t.Error("an invalid image gave no error")
	}
}
