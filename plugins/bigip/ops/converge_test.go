package ops_test

import (
	"testing"

	"github.com/tokenflow/tokenflow/sdk"
)

// TestGetTokenMissingOK: a flow checking its stored token learns that it is
// gone as exists = False, without a login, and only when it asks for that.
func TestGetTokenMissingOK(t *testing.T) {
	f := newFixture(t)
	tok, err := f.sim.IssueToken("automation")
	if err != nil {
		t.Fatal(err)
	}
	got := f.call("get_token", map[string]any{"token": tok, "missing_ok": true})
	if got["exists"] != true || got["user"] != "automation" {
		t.Fatalf("live token: %v", got)
	}
	f.sim.RevokeToken(tok)
	got = f.call("get_token", map[string]any{"token": tok, "missing_ok": true})
	if got["exists"] != false || got["user"] != nil {
		t.Fatalf("revoked token: %v", got)
	}
	if _, err := f.h.Call("get_token", f.conn, map[string]any{"token": tok}); !sdk.IsCode(err, sdk.CodeUnauthenticated) {
		t.Fatalf("without missing_ok: %v, want unauthenticated", err)
	}
	if n := f.logins(); n != 0 {
		t.Fatalf("%d logins, want none: the token authenticates itself", n)
	}
}
