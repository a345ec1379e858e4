package store

import (
	"strings"
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		tok  Token
		want string
	}{
		{"expires within", Token{ExpiresAt: now.Add(24 * time.Hour)}, "expires 2026-12-08"},
		{"expires later", Token{ExpiresAt: now.Add(30 * 24 * time.Hour)}, ""},
		{"rotate_every passed", Token{CreatedAt: now.Add(-40 * 24 * time.Hour), Labels: map[string]string{"rotate_every": "30d"}}, "last rotated 2026-10-28"},
		{"rotated recently", Token{CreatedAt: now.Add(-40 * 24 * time.Hour), RotatedAt: now.Add(-time.Hour), Labels: map[string]string{"rotate_every": "30d"}}, ""},
		{"no expiry, no label", Token{}, ""},
	} {
		got, err := Due(tc.tok, now, 7*24*time.Hour)
		if err != nil || (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: Due = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := Due(Token{Name: "n", Target: "t", Labels: map[string]string{"rotate_every": "often"}}, now, time.Hour); err == nil || !strings.Contains(err.Error(), `rotate_every="often"`) {
		t.Errorf("bad label: %v", err)
	}
}
