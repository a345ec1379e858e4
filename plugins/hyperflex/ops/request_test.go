package ops_test

import (
	"encoding/json"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func TestGenericGetSendsTheAccessTokenAsBearer(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tok := f.obtain()
	out := f.call("get", map[string]any{"path": "/coreapi/v1/clusters", "access_token": tok["access_token"]})
	if out["status"] != json.Number("200") || out["body"] == nil {
		t.Fatalf("get clusters: %v", out)
	}
	if e := f.callErr("get", map[string]any{"path": "/coreapi/v1/clusters"}); e.Code != sdk.CodeUnauthenticated {
		t.Fatalf("without a token: %v", e)
	}
	out = f.call("request", map[string]any{"method": "POST", "path": "/aaa/v1/revoke", "body": map[string]any{
		"access_token": tok["access_token"], "refresh_token": tok["refresh_token"], "token_type": "Bearer"}})
	if out["status"] != json.Number("200") {
		t.Fatalf("revoke: %v", out)
	}
	if e := f.callErr("get", map[string]any{"path": "/coreapi/v1/clusters", "access_token": tok["access_token"]}); e.Code != sdk.CodeUnauthenticated {
		t.Fatalf("a revoked token still reads: %v", e)
	}
}
