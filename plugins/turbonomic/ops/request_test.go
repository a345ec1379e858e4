package ops_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
)

func TestGenericGetAndRequestUseTheLoginSession(t *testing.T) {
	f := newFixture(t, sim.Config{})
	out := f.call("get", map[string]any{"path": "/markets"})
	if out["status"] != json.Number("200") {
		t.Fatalf("get markets: %v", out)
	}
	if l, ok := out["body"].([]any); !ok || len(l) == 0 {
		t.Fatalf("markets body: %v", out["body"])
	}
	if c, _ := out["headers"].(map[string]any)["Set-Cookie"].(string); c != "" && c != "***" {
		t.Fatalf("a session cookie in the result: %q", c)
	}
	out = f.call("request", map[string]any{"method": "DELETE", "path": "/users/no-such-user", "expect": []any{json.Number("404"), json.Number("200")}})
	if out["status"] != json.Number("404") {
		t.Fatalf("delete of a missing user: %v", out)
	}
	logins := 0
	for _, ex := range f.h.Exchanges() {
		if strings.HasSuffix(ex.URL, "/api/v3/login") {
			logins++
		}
		if strings.Contains(ex.URL, "/users/no-such-user") && !strings.Contains(ex.Header.Get("Cookie"), "JSESSIONID=") {
			t.Fatalf("the DELETE carried no session cookie")
		}
	}
	if logins != 1 {
		t.Fatalf("%d logins for two calls", logins)
	}
}
