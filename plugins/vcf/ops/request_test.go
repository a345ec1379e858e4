package ops_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/sdk"
)

func TestGenericGetAndRequestUseTheConnectionsToken(t *testing.T) {
	f := newFixture(t)
	out := f.call("get", map[string]any{"path": "/suite-api/api/fleet-management/iam/ssorealms"})
	if out["status"] != json.Number("200") || out["body"] == nil {
		t.Fatalf("get realms: %v", out)
	}
	_, err := f.h.Call("request", f.conn, map[string]any{"method": "DELETE", "path": "/suite-api/api/fleet-management/iam/ssorealms/no-such-realm/api-clients/nobody"})
	var e *sdk.Error
	if !errorsAs(err, &e) || e.Code != sdk.CodeNotFound {
		t.Fatalf("delete of a missing client: %v", err)
	}
	for _, ex := range f.h.Exchanges() {
		if strings.HasPrefix(ex.URL, f.conn["url"].(string)+"/suite-api/api/fleet-management") && !strings.HasPrefix(ex.Header.Get("Authorization"), "OpsToken ") {
			t.Fatalf("%s %s carried no OpsToken", ex.Method, ex.URL)
		}
	}
}

func errorsAs(err error, e **sdk.Error) bool {
	x, ok := err.(*sdk.Error)
	*e = x
	return ok
}
