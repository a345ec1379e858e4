package sim

import (
	"strings"
	"testing"
)

func TestRoleAssignment(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb02")
	base := iam + "/ssorealms/" + realm
	c := f.createClient(realm, "svc")
	path := base + "/principals/" + c.ClientUUID + "/roles"

	empty := into[roleAssignments](t, f.expect(f.do("GET", path, nil), 200, "get none"))
	if empty.VcfRoleAssignments == nil || len(empty.VcfRoleAssignments) != 0 {
		t.Fatalf("no roles = %+v", empty)
	}

	assign := func(roles ...map[string]any) map[string]any {
		return map[string]any{"vcfRoleAssignments": roles}
	}
	role := func(name, scope string, resources ...string) map[string]any {
		rs := []map[string]string{}
		for _, id := range resources {
			rs = append(rs, map[string]string{"id": id, "name": "res-" + id})
		}
		return map[string]any{"roleName": name, "roleScope": map[string]any{"scopeType": scope, "resources": rs}}
	}

	f.expect(f.do("PUT", path, assign(role("vcf_administrator", "VCF_INSTANCE", "i1"), role("vcf_viewer", "SSO_REALM"))), 200, "put two")
	f.expect(f.do("PUT", path, assign(role("vcf_auditor", "UNKNOWN", "r1", "r2"))), 200, "put replaces")
	got := f.sim.RoleAssignments(realm, c.ClientUUID)
	if len(got) != 1 || got[0].RoleName != "vcf_auditor" || got[0].RoleDisplayName != "VCF Auditor" ||
		got[0].RoleScope.ScopeType != "UNKNOWN" || len(got[0].RoleScope.Resources) != 2 || got[0].RoleScope.Resources[1] != (ScopeResource{ID: "r2", Name: "res-r2"}) {
		t.Fatalf("after replacing: %+v", got)
	}

	bad := []struct {
		name string
		body any
		msg  string
	}{
		{"unknown role", assign(role("vcf_superuser", "SSO_REALM")), `unknown role "vcf_superuser"`},
		{"missing roleName", assign(map[string]any{"roleScope": map[string]string{"scopeType": "SSO_REALM"}}), "roleName is required"},
		{"missing roleScope", assign(map[string]any{"roleName": "vcf_viewer"}), "roleScope is required"},
		{"bad scopeType", assign(role("vcf_viewer", "CLUSTER")), "scopeType must be VCF_INSTANCE, SSO_REALM or UNKNOWN"},
		{"missing scopeType", assign(role("vcf_viewer", "")), "scopeType"},
		{"resource without id", assign(map[string]any{"roleName": "vcf_viewer", "roleScope": map[string]any{"scopeType": "SSO_REALM", "resources": []map[string]string{{"name": "x"}}}}), "resources[0].id is required"},
		{"missing list", map[string]any{}, "vcfRoleAssignments is required"},
		{"not JSON", "roles", "invalid JSON"},
	}
	for _, tt := range bad {
		r := f.expect(f.do("PUT", path, tt.body), 400, tt.name)
		if msg := r.message(t); !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: message %q, want %q", tt.name, msg, tt.msg)
		}
	}
	if got := f.sim.RoleAssignments(realm, c.ClientUUID); len(got) != 1 {
		t.Fatalf("a rejected PUT changed the roles: %+v", got)
	}

	unknown := base + "/principals/00000000-0000-4000-8000-000000000000/roles"
	f.expect(f.do("GET", unknown, nil), 404, "get unknown principal")
	f.expect(f.do("PUT", unknown, assign(role("vcf_viewer", "SSO_REALM"))), 404, "put unknown principal")
	f.expect(f.do("DELETE", unknown, nil), 404, "delete unknown principal")
	// The client id is not the principal id.
	f.expect(f.do("GET", base+"/principals/svc/roles", nil), 404, "client id as principal")

	f.expect(f.do("DELETE", path, nil), 204, "delete")
	if got := f.sim.RoleAssignments(realm, c.ClientUUID); len(got) != 0 {
		t.Fatalf("after DELETE: %+v", got)
	}
	f.expect(f.do("PUT", path, `{"vcfRoleAssignments":[]}`), 200, "put an empty list")
	f.expect(f.do("PUT", path, `{"vcfRoleAssignments":null}`), 400, "put null")
}

func TestRouting(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	unknownRealm := iam + "/ssorealms/00000000-0000-4000-8000-000000000000"
	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", unknownRealm, nil, 404},
		{"POST", unknownRealm + "/api-clients", map[string]string{"clientId": "c", "clientName": "n"}, 404},
		{"POST", unknownRealm + "/api-clients/query", nil, 404},
		{"POST", unknownRealm + "/api-tokens", map[string]string{"apiClientId": "c", "tokenName": "n"}, 404},
		{"POST", unknownRealm + "/api-tokens/query", nil, 404},
		{"GET", unknownRealm + "/principals/x/roles", nil, 404},
		{"GET", iam + "/ssorealms/flt-idb01", nil, 404}, // a name is not an id
		{"DELETE", iam + "/ssorealms", nil, 405},
		{"PUT", iam + "/ssorealms/" + realm + "/api-clients/x", nil, 405},
		{"GET", iam + "/ssorealms/" + realm + "/api-tokens", nil, 405},
		{"GET", iam + "/ssorealms/" + realm + "/api-tokens/x/regenerate", nil, 405},
		{"POST", iam + "/settings", nil, 405},
		{"GET", "/suite-api/api/auth/token/acquire", nil, 405},
		{"GET", iam + "/nothing-here", nil, 404},
		{"GET", "/suite-api/api/resources", nil, 404},
	}
	for _, tt := range tests {
		if r := f.do(tt.method, tt.path, tt.body); r.status != tt.want {
			t.Errorf("%s %s: %d, want %d (%s)", tt.method, tt.path, r.status, tt.want, r.body)
		}
	}
	// A 405 names the allowed methods.
	if r := f.do("PUT", iam+"/ssorealms/"+realm+"/api-tokens/x", nil); r.header.Get("Allow") == "" {
		t.Error("405 without an Allow header")
	}
}
