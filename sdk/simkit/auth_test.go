package simkit

import (
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, scheme string
		want           string
		ok             bool
	}{
		{"Bearer abc", "Bearer", "abc", true},
		{"bearer abc", "Bearer", "abc", true},
		{"OpsToken  a::b ", "opstoken", "a::b", true},
		{"Bearer", "Bearer", "", false},
		{"Bearer    ", "Bearer", "", false},
		{"Basic abc", "Bearer", "", false},
		{"", "Bearer", "", false},
		{"BearerX abc", "Bearer", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := BearerToken(r, tt.scheme)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q, %q) = %q, %v; want %q, %v", tt.header, tt.scheme, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRandomHelpers(t *testing.T) {
	if h := RandomHex(16); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(h) {
		t.Errorf("RandomHex(16) = %q", h)
	}
	if s := RandomURLSafe(32); !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(s) {
		t.Errorf("RandomURLSafe(32) = %q", s)
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u := RandomUUID()
		if !uuidRE.MatchString(u) {
			t.Fatalf("RandomUUID() = %q, not a v4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("RandomUUID() repeated %q", u)
		}
		seen[u] = true
	}
}
