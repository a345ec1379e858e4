package cli

import (
	"testing"

	"github.com/tokenflow/tokenflow/engine/store"
)

// A token stored under another one's name plus a suffix, on the same vendor
// and target, is revoked with it; nothing else is merged.
func TestRevokeName(t *testing.T) {
	tokens := []store.Token{
		{Name: "acme/a", Vendor: "acme", Target: "https://x"},
		{Name: "acme/a/refresh", Vendor: "acme", Target: "https://x"},
		{Name: "acme/a/refresh", Vendor: "acme", Target: "https://y"},
		{Name: "acme/ab", Vendor: "acme", Target: "https://x"},
	}
	for _, tt := range []struct{ name, target, want string }{
		{"acme/a/refresh", "https://x", "acme/a"},
		{"acme/a/refresh", "https://y", "acme/a/refresh"}, // no parent on that target
		{"acme/ab", "https://x", "acme/ab"},               // a prefix, not a parent
		{"acme/a", "https://x", "acme/a"},
	} {
		if got := revokeName(tt.name, "acme", tt.target, tokens); got != tt.want {
			t.Errorf("revokeName(%s on %s) = %s, want %s", tt.name, tt.target, got, tt.want)
		}
	}
}
