package spell

import "testing"

func TestNearest(t *testing.T) {
	ops := []string{"find_realm", "create_api_client", "issue_token", "list_realms"}
	for _, tc := range []struct{ in, want string }{
		{"find_relm", "find_realm"},
		{"issue_tokens", "issue_token"},
		{"Create_API_Client", "create_api_client"},
		{"reboot_cluster", ""},
	} {
		if got := Nearest(tc.in, ops); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
