package ops_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func TestGenericGetAndRequestUseTheSession(t *testing.T) {
	f := newFixture(t)
	out := f.call("get", map[string]any{"path": "/mgmt/tm/sys/version"})
	body, _ := out["body"].(map[string]any)
	if out["status"] != json.Number("200") || body["entries"] == nil {
		t.Fatalf("get version: %v", out)
	}
	if f.logins() != 1 {
		t.Fatalf("%d logins, want the session's one", f.logins())
	}
	tok := f.issue(sim.DefaultUser, 1)[0]
	out = f.call("request", map[string]any{"method": "patch", "path": "/mgmt/shared/authz/tokens/" + tok, "body": map[string]any{"timeout": json.Number("3600")}})
	if out["status"] != json.Number("200") {
		t.Fatalf("patch: %v", out)
	}
	patched := false
	for _, tk := range f.sim.Tokens(sim.DefaultUser) {
		patched = patched || (tk.Token == tok && tk.Timeout == 3600)
	}
	if !patched {
		t.Fatalf("the token's timeout did not become 3600: %+v", f.sim.Tokens(sim.DefaultUser))
	}
	if f.logins() != 1 {
		t.Fatalf("%d logins after two calls", f.logins())
	}
	// A 404 is an error unless expected.
	_, err := f.h.Call("get", f.conn, map[string]any{"path": "/mgmt/shared/authz/tokens/NOSUCHTOKEN"})
	sdkErr(t, err, sdk.CodeNotFound)
	out = f.call("get", map[string]any{"path": "/mgmt/shared/authz/tokens/NOSUCHTOKEN", "expect": []any{json.Number("404")}})
	if out["status"] != json.Number("404") {
		t.Fatalf("expected 404: %v", out)
	}
	// GET through the write op is refused: get is the read.
	_, err = f.h.Call("request", f.conn, map[string]any{"method": "GET", "path": "/mgmt/tm/sys/version"})
	if e := sdkErr(t, err, sdk.CodeInvalidArgument); !strings.Contains(e.Message, "use get(") {
		t.Fatalf("request GET: %v", e)
	}
	for _, ex := range f.h.Exchanges() {
		if ex.Method == http.MethodPatch && ex.Header.Get("X-F5-Auth-Token") == "" {
			t.Fatalf("the PATCH carried no auth token")
		}
	}
}
