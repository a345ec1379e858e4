package sim

import (
	"fmt"
	"strings"
	"testing"
)

func TestClientQuery(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	base := iam + "/ssorealms/" + realm
	for _, c := range []struct{ id, name, desc string }{
		{"backup-svc", "Backup Service", "nightly"},
		{"ci", "CI Pipeline", ""},
		{"monitor", "Monitoring", "dashboards"},
	} {
		f.expect(f.do("POST", base+"/api-clients", map[string]string{"clientId": c.id, "clientName": c.name, "clientDescription": c.desc}), 201, "create "+c.id)
	}
	ci := f.sim.APIClients(realm)[1]
	f.expect(f.do("PUT", base+"/principals/"+ci.ClientUUID+"/roles", map[string]any{"vcfRoleAssignments": []map[string]any{
		{"roleName": "vcf_auditor", "roleScope": map[string]string{"scopeType": "UNKNOWN"}},
	}}), 200, "put roles")

	ids := func(query string, body any) (string, PageInfo) {
		t.Helper()
		p := into[clientPage](t, f.expect(f.do("POST", base+"/api-clients/query"+query, body), 200, "query"))
		var out []string
		for _, c := range p.APIClients {
			out = append(out, c.ClientID)
		}
		return strings.Join(out, " "), p.PageInfo
	}
	q := func(kind, field, op string, terms ...string) map[string]any {
		return map[string]any{"searchTerms": map[string]any{kind: []map[string]any{{"field": field, "operator": op, "terms": terms}}}}
	}
	tests := []struct {
		name, query string
		body        any
		want        string
	}{
		{"all", "", map[string]any{}, "backup-svc ci monitor"},
		{"no body", "", nil, "backup-svc ci monitor"},
		{"CLIENT_NAME LIKE", "", q("allOf", "CLIENT_NAME", "LIKE", "service"), "backup-svc"},
		{"CLIENT_NAME LIKE with %", "", q("allOf", "CLIENT_NAME", "LIKE", "%i%e%"), "backup-svc ci"},
		{"CLIENT_ID EQUALS", "", q("allOf", "CLIENT_ID", "EQUALS", "ci", "monitor"), "ci monitor"},
		{"CLIENT_ID EQUALS is case-sensitive", "", q("allOf", "CLIENT_ID", "EQUALS", "CI"), ""},
		{"anyOf", "", q("anyOf", "CLIENT_NAME", "LIKE", "monitor"), "monitor"},
		{"ROLE_NAME", "", q("allOf", "ROLE_NAME", "EQUALS", "vcf_auditor"), "ci"},
		{"ROLE_NAME EMPTY", "", q("allOf", "ROLE_NAME", "EMPTY"), "backup-svc monitor"},
		{"NOT_EMPTY", "", q("allOf", "CLIENT_ID", "NOT_EMPTY"), "backup-svc ci monitor"},
		{"paging", "?page=1&pageSize=2", nil, "monitor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := ids(tt.query, tt.body)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, pi := ids("?page=1&pageSize=2", nil); pi != (PageInfo{TotalCount: 3, Page: 1, PageSize: 2}) {
		t.Fatalf("pageInfo = %+v", pi)
	}
	p := into[clientPage](t, f.expect(f.do("POST", base+"/api-clients/query", q("allOf", "CLIENT_ID", "EQUALS", "ci")), 200, "query"))
	if c := p.APIClients[0]; c.ClientName != "CI Pipeline" || c.ClientUUID != ci.ClientUUID || len(c.Roles) != 1 || c.Roles[0].RoleDisplayName != "VCF Auditor" {
		t.Fatalf("queried client = %+v", c)
	}
	f.expect(f.do("POST", base+"/api-clients/query", q("allOf", "TOKEN_NAME", "LIKE", "x")), 400, "token field on clients")
	f.expect(f.do("POST", base+"/api-clients/query?pageSize=5000", nil), 400, "pageSize")
}

func TestClientErrorsAndUpdate(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb02")
	base := iam + "/ssorealms/" + realm
	tests := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"missing clientId", map[string]string{"clientName": "n"}, 400, "clientId is required"},
		{"missing clientName", map[string]string{"clientId": "c"}, 400, "clientName is required"},
		{"empty body", nil, 400, "empty"},
		{"not JSON", "clientId=c", 400, "invalid JSON"},
	}
	for _, tt := range tests {
		r := f.expect(f.do("POST", base+"/api-clients", tt.body), tt.status, tt.name)
		if msg := r.message(t); !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: message %q, want %q", tt.name, msg, tt.msg)
		}
	}
	f.expect(f.do("GET", base+"/api-clients/ghost", nil), 404, "get unknown client")
	f.expect(f.do("DELETE", base+"/api-clients/ghost", nil), 404, "delete unknown client")

	c := f.createClient(realm, "svc")
	// The same client id in another realm is a different client.
	f.createClient(f.realmID("flt-idb01"), "svc")

	f.expect(f.do("PATCH", base+"/api-clients", map[string]string{"clientUuid": c.ClientUUID, "clientDescription": "updated"}), 204, "patch")
	got := into[APIClient](t, f.expect(f.do("GET", base+"/api-clients/svc", nil), 200, "get"))
	if got.ClientName != "svc name" || got.ClientDescription != "updated" || got.Roles == nil {
		t.Fatalf("after PATCH: %+v", got)
	}
	f.expect(f.do("PATCH", base+"/api-clients", map[string]string{"clientUuid": "nope"}), 404, "patch unknown")
	f.expect(f.do("PATCH", base+"/api-clients", map[string]string{"clientName": "x"}), 400, "patch without uuid")
}

func TestDeleteClientCascades(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	base := iam + "/ssorealms/" + realm
	gone := f.createClient(realm, "gone")
	stays := f.createClient(realm, "stays")
	for _, c := range []createClientResponse{gone, stays} {
		f.expect(f.do("PUT", base+"/principals/"+c.ClientUUID+"/roles", map[string]any{"vcfRoleAssignments": []map[string]any{
			{"roleName": "vcf_viewer", "roleScope": map[string]string{"scopeType": "SSO_REALM"}},
		}}), 200, "roles")
	}
	var goneSecrets []string
	for i := range 3 {
		goneSecrets = append(goneSecrets, f.createToken(realm, map[string]any{"apiClientId": "gone", "tokenName": fmt.Sprint(i)}).Token)
	}
	kept := f.createToken(realm, map[string]any{"apiClientId": "stays", "tokenName": "0"})

	f.expect(f.do("DELETE", base+"/api-clients/gone", nil), 204, "delete client")
	f.expect(f.do("GET", base+"/api-clients/gone", nil), 404, "get deleted client")
	f.expect(f.do("GET", base+"/principals/"+gone.ClientUUID+"/roles", nil), 404, "roles of a deleted client")
	for _, s := range goneSecrets {
		if f.sim.TokenSecretValid(s) {
			t.Fatal("a deleted client's token still works")
		}
	}
	toks := f.sim.Tokens(realm)
	if len(toks) != 1 || toks[0].ID != kept.ID || !f.sim.TokenSecretValid(kept.Token) {
		t.Fatalf("tokens after cascade = %+v", toks)
	}
	if ra := f.sim.RoleAssignments(realm, stays.ClientUUID); len(ra) != 1 {
		t.Fatalf("the other client's roles = %+v", ra)
	}
	// The client id can be reused afterwards.
	again := f.createClient(realm, "gone")
	if again.ClientUUID == gone.ClientUUID {
		t.Fatal("a recreated client kept its old clientUuid")
	}
}
