package ops_test

import (
	"net/http"
	"testing"
)

// TestFindAPIClientAndDeletes covers the ops converging flows rely on:
// find_api_client answers found = False instead of failing, finds exactly
// the client asked for (not a prefix), and the deletes accept "already gone"
// only when told to.
func TestFindAPIClientAndDeletes(t *testing.T) {
	f := newFixture(t)
	realm := f.realm()
	if got := f.call("find_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot"}); got["found"] != false {
		t.Fatalf("absent client: %v", got)
	}
	f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot-2", "client_name": "CI"})
	if got := f.call("find_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot"}); got["found"] != false {
		t.Fatalf("found a different client: %v", got)
	}
	client := f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot", "client_name": "CI"})
	roles := []any{map[string]any{"role_name": "vcf_viewer", "scope_type": "SSO_REALM"}}
	f.call("assign_roles", map[string]any{"realm_id": realm, "principal_id": client["client_uuid"], "roles": roles})

	got := f.call("find_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot"})
	if got["found"] != true || got["client_uuid"] != client["client_uuid"] {
		t.Fatalf("find_api_client = %v, want the created client", got)
	}
	if rs, _ := got["roles"].([]any); len(rs) != 1 || rs[0].(map[string]any)["role_name"] != "vcf_viewer" {
		t.Fatalf("roles = %v", got["roles"])
	}
	// The lookup is a read: no write reached the simulator for it.
	if n := f.sim.Recorder().Count(http.MethodGet, "/suite-api/api/fleet-management/iam/ssorealms/"+realm+"/api-clients/"); n != 0 {
		t.Fatalf("find_api_client sent %d GETs, want it to use the query", n)
	}

	uuid := client["client_uuid"].(string)
	if out := f.call("delete_roles", map[string]any{"realm_id": realm, "principal_id": uuid}); out["deleted"] != true {
		t.Fatalf("delete_roles = %v", out)
	}
	if n := len(f.sim.RoleAssignments(realm, uuid)); n != 0 {
		t.Fatalf("%d role assignments left", n)
	}
	if out := f.call("delete_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot"}); out["deleted"] != true {
		t.Fatalf("delete_api_client = %v", out)
	}
	if out := f.call("delete_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot", "missing_ok": true}); out["deleted"] != false {
		t.Fatalf("second delete_api_client = %v, want deleted = False", out)
	}
	if _, err := f.h.Call("delete_api_client", f.conn, map[string]any{"realm_id": realm, "client_id": "ci-bot"}); err == nil {
		t.Fatal("deleting an absent client without missing_ok succeeded")
	}
	if out := f.call("delete_roles", map[string]any{"realm_id": realm, "principal_id": uuid, "missing_ok": true}); out["deleted"] != false {
		t.Fatalf("delete_roles of a deleted client = %v", out)
	}
}
