package sim

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Seed 004 ("VCF 9.1 API Access (8): API Token Lifecycle Automation") followed literally: its
// requests, strings and all, with the {{...}} placeholders filled in as the procedure says,
// against a simulator holding the seed's realm and with its clock at the seed's instants. The
// answers must have the seed's shapes (field names and JSON types), and where the seed's
// values follow from the inputs (TTLs, dates, tokenLastChars, URLs), the seed's values.

const (
	seedRealmID    = "d86a0d9d-f267-45fd-b966-ed8b30e59452"
	seedInstanceID = "a79554c3-4c83-46c1-975a-92f94bbcd56d"
	seedBase       = "/suite-api/api/fleet-management/iam/ssorealms/" + seedRealmID
)

var seedRealm = Realm{
	ID: seedRealmID, Name: "flt-idb02", VidbResourceID: "60b347fc-cb9b-452a-bfdc-5e483ab813d8",
	VcfInstanceID: seedInstanceID, IdpID: "d5709a7f-8c6b-45e5-8189-4da573f98798",
	SsoRealmCoverage: []RealmCoverage{
		{ID: seedInstanceID, Name: "sfo-vcf02", SsoEntityType: "VCF_INSTANCE"},
		{ID: "0cdb4cb5-17c0-41c1-962f-f027e599b392", Name: "Operations Appliance", SsoEntityType: "MANAGEMENT_COMPONENT"},
		{ID: "9a1dbfbb-92ba-41ee-98f3-cb2b14f2375f", Name: "Automation Appliance", SsoEntityType: "MANAGEMENT_COMPONENT"},
	},
	TotalConfiguredComponents: 4, CreatedAt: 1778735571488, UpdatedAt: 1778735571488,
}

// The seed's payloads. Where the seed truncates ("..."), the part it shows is kept.
const (
	seedRealmPayload      = `{"id":"d86a0d9d-f267-45fd-b966-ed8b30e59452","name":"flt-idb02","vidbResourceId":"60b347fc-cb9b-452a-bfdc-5e483ab813d8","vcfInstanceId":"a79554c3-4c83-46c1-975a-92f94bbcd56d","issues":[],"ssoRealmCoverage":[{"id":"a79554c3-4c83-46c1-975a-92f94bbcd56d","name":"sfo-vcf02","ssoEntityType":"VCF_INSTANCE"},{"id":"0cdb4cb5-17c0-41c1-962f-f027e599b392","name":"Operations Appliance","ssoEntityType":"MANAGEMENT_COMPONENT"},{"id":"9a1dbfbb-92ba-41ee-98f3-cb2b14f2375f","name":"Automation Appliance","ssoEntityType":"MANAGEMENT_COMPONENT"}],"totalConfiguredComponents":4,"idpId":"d5709a7f-8c6b-45e5-8189-4da573f98798","createdAt":1778735571488,"updatedAt":1778735571488}`
	seedClientPayload     = `{"clientId":"IamClient","clientUuid":"37a5c224-02ad-45c6-895d-1592d9b14068","clientName":"Iam Client","clientDescription":"API client for IAM functional testing"}`
	seedCreatedPayload    = `{"id":"27a20393-2bd8-4c21-a1d2-e4c98e6f8cbf","apiClientId":"IamClient","tokenName":"apitoken-test1000","apiTokenTtl":40320,"accessTokenTtl":30,"tokenType":"API_CLIENT","token":"vidb_MjdhMjAzOTMtMmJkOC00YzIxLWExZDItZTRjOThlNmY4Y2JmI3lSbGhjb...","tokenLastChars":"DQxMQ","creationDate":1779354411000,"expirationDate":1781773611000,"lastUsedDate":1779354411000,"tokenStatus":"ACTIVE","tokenEndpointUrl":"https://flt-idb02.rainpole.io:443/acs/t/CUSTOMER/token","oidcIssuerUrl":"https://flt-idb02.rainpole.io:443/acs/t/CUSTOMER"}`
	seedPageInfoPayload   = `{"totalCount":1,"page":0,"pageSize":50,"sortOrder":"ASCENDING"}`
	seedListedPayload     = `{"id":"27a20393-2bd8-4c21-a1d2-e4c98e6f8cbf","apiClientId":"IamClient","tokenName":"apitoken-test1000","tokenDescription":"API Token for testing","apiTokenTtl":40320,"accessTokenTtl":30,"tokenType":"API_CLIENT","tokenLastChars":"DQxMQ","principalName":"IamClient","creationDate":1779354411000,"expirationDate":1781773611000,"lastUsedDate":1779354411000,"tokenStatus":"ACTIVE"}`
	seedRegeneratePayload = `{"id":"b3a308e3-aef9-4a53-b951-3c9d628204d9","apiClientId":"IamClient","tokenName":"apitoken-test1000","tokenDescription":"API Token for testing","apiTokenTtl":40320,"accessTokenTtl":30,"tokenType":"API_CLIENT","token":"vidb_YjNhMzA4ZTMtYWVmOS00YTUzLWI5NTEtM2M5ZDYyODIwNGQ...","tokenLastChars":"zIwNg","creationDate":1779357206000,"expirationDate":1781776406000,"lastUsedDate":1779357206000,"tokenStatus":"ACTIVE","tokenEndpointUrl":"https://flt-idb02.rainpole.io:443/acs/t/CUSTOMER/token","oidcIssuerUrl":"https://flt-idb02.rainpole.io:443/acs/t/CUSTOMER"}`
)

func TestSeed004Replay(t *testing.T) {
	clock := simkit.NewClock(time.UnixMilli(1779354411000 - 10*60*1000))
	adminRealm := Realm{ID: "11111111-2222-4333-8444-555555555555", Name: "admin-realm", VidbResourceID: "66666666-7777-4888-9999-000000000000"}
	f := newFixtureWith(t, Config{Clock: clock, Realms: []Realm{seedRealm, adminRealm}, AdvertisedHost: "flt-idb02.rainpole.io:443"})
	vars := map[string]string{
		"{{apiClientId}}": "IamClient", "{{clientId}}": "IamClient", "{{tokenName}}": "apitoken-test1000",
		"{{vcfInstanceId}}": seedInstanceID, "{{apiAccessToken}}": f.seedAccessToken(adminRealm.ID),
	}
	fill := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	f.auth = fill("Bearer {{apiAccessToken}}") // 'authorization: Bearer {{apiAccessToken}}'

	// Step 0: the realm, with the seed's coverage (MANAGEMENT_COMPONENT appliances).
	realms := f.expect(f.do("GET", "/suite-api/api/fleet-management/iam/ssorealms", nil), 200, "step 0")
	var list struct{ SsoRealms []json.RawMessage }
	if err := json.Unmarshal(realms.body, &list); err != nil || len(list.SsoRealms) != 2 {
		t.Fatalf("step 0: %s (%v)", realms.body, err)
	}
	sameShape(t, "step 0 realm", seedRealmPayload, string(list.SsoRealms[0]), true)
	sameJSON(t, "step 0 realm", seedRealmPayload, string(list.SsoRealms[0]))

	// Step 1: the API client.
	client := f.expect(f.do("POST", seedBase+"/api-clients", fill(`{
"clientId": "{{apiClientId}}",
"clientName": "Iam Client",
"clientDescription": "API client for IAM functional testing"
}`)), 201, "step 1")
	sameShape(t, "step 1", seedClientPayload, string(client.body), true)
	principal := into[APIClient](t, client).ClientUUID

	// Step 2: the roles, sddc_admin scoped to the VCF instance among them, then read back.
	rolesPath := seedBase + "/principals/" + principal + "/roles"
	f.expect(f.do("PUT", rolesPath, fill(`{
"vcfRoleAssignments": [
{
"roleName": "vcf_viewer",
"roleScope": {
"scopeType": "SSO_REALM"
},
"expiresAt": null
},
{
"roleName": "sddc_admin",
"roleScope": {
"scopeType": "VCF_INSTANCE",
"resources": [
{
"id": "{{vcfInstanceId}}"
}
]
},
"expiresAt": null
}
]
}`)), 200, "step 2 PUT")
	got := into[roleAssignments](t, f.expect(f.do("GET", rolesPath, nil), 200, "step 2 GET")).VcfRoleAssignments
	if len(got) != 2 || got[1].RoleName != "sddc_admin" || got[1].RoleScope.ScopeType != "VCF_INSTANCE" ||
		len(got[1].RoleScope.Resources) != 1 || got[1].RoleScope.Resources[0].ID != seedInstanceID {
		t.Fatalf("step 2 GET = %+v", got)
	}

	// Step 3: the token, TTLs as strings, at the seed's instant.
	clock.Set(time.UnixMilli(1779354411000))
	created := f.expect(f.do("POST", seedBase+"/api-tokens", fill(`{
"apiClientId": "IamClient",
"tokenName": "{{tokenName}}",
"tokenDescription": "API Token for testing",
"tokenType": "API_CLIENT",
"apiTokenTtl": "40320",
"accessTokenTtl": "30"
}`)), 201, "step 3")
	sameShape(t, "step 3", seedCreatedPayload, string(created.body), true)
	first := into[APIToken](t, created)
	sameValues(t, "step 3", seedCreatedPayload, created.body, "apiClientId", "tokenName", "apiTokenTtl", "accessTokenTtl",
		"tokenType", "tokenLastChars", "creationDate", "expirationDate", "lastUsedDate", "tokenStatus", "tokenEndpointUrl", "oidcIssuerUrl")
	secretHolds(t, "step 3", first)

	// Step 4: the query, sortOrder=ASCENDING, by client id and token type.
	query := f.expect(f.do("POST", seedBase+"/api-tokens/query?page=0&pageSize=50&sortOrder=ASCENDING", fill(`{
"searchTerms": {
"allOf": [
{
"field": "CLIENT_ID",
"terms": ["{{clientId}}"],
"operator": "LIKE"
}
],
"anyOf": []
},
"filters": {
"tokenType": ["API_CLIENT"]
}
}`)), 200, "step 4")
	var page struct {
		PageInfo  json.RawMessage   `json:"pageInfo"`
		APITokens []json.RawMessage `json:"apiTokens"`
	}
	if err := json.Unmarshal(query.body, &page); err != nil || len(page.APITokens) != 1 {
		t.Fatalf("step 4: %s (%v)", query.body, err)
	}
	sameShape(t, "step 4 pageInfo", seedPageInfoPayload, string(page.PageInfo), true)
	sameJSON(t, "step 4 pageInfo", seedPageInfoPayload, string(page.PageInfo))
	sameShape(t, "step 4 token", seedListedPayload, string(page.APITokens[0]), true)
	sameValues(t, "step 4", seedListedPayload, page.APITokens[0], "apiClientId", "tokenName", "tokenDescription", "apiTokenTtl",
		"accessTokenTtl", "tokenType", "tokenLastChars", "principalName", "creationDate", "expirationDate", "lastUsedDate", "tokenStatus")
	var listed APIToken
	_ = json.Unmarshal(page.APITokens[0], &listed)

	// Step 5: regenerate the listed id, at the seed's instant: a new id, a new secret.
	clock.Set(time.UnixMilli(1779357206000))
	regen := f.expect(f.do("POST", seedBase+"/api-tokens/"+listed.ID+"/regenerate", nil), 200, "step 5")
	sameShape(t, "step 5", seedRegeneratePayload, string(regen.body), true)
	sameValues(t, "step 5", seedRegeneratePayload, regen.body, "apiClientId", "tokenName", "tokenDescription", "apiTokenTtl",
		"accessTokenTtl", "tokenType", "tokenLastChars", "creationDate", "expirationDate", "lastUsedDate", "tokenStatus", "tokenEndpointUrl", "oidcIssuerUrl")
	second := into[APIToken](t, regen)
	if second.ID == first.ID || second.Token == first.Token {
		t.Fatalf("step 5 kept the id or the secret: %s", second.ID)
	}
	secretHolds(t, "step 5", second)
	if f.sim.TokenSecretValid(first.Token) || !f.sim.TokenSecretValid(second.Token) {
		t.Fatal("step 5: the old secret must be dead and the new one live")
	}
}

// seedAccessToken is the operator's {{apiAccessToken}}: an SSO access token, got the documented
// way (an API client of another realm with an admin role, its API token exchanged at the
// identity broker).
func (f *fixture) seedAccessToken(realmID string) string {
	f.t.Helper()
	f.login()
	base := iam + "/ssorealms/" + realmID
	uuid := f.createClient(realmID, "seed-operator").ClientUUID
	f.expect(f.do("PUT", base+"/principals/"+uuid+"/roles", map[string]any{"vcfRoleAssignments": []map[string]any{
		{"roleName": "vcf_administrator", "roleScope": map[string]string{"scopeType": "SSO_REALM"}}}}), 200, "operator role")
	tok := f.createToken(realmID, map[string]any{"apiClientId": "seed-operator", "tokenName": "operator"})
	r := f.expect(f.exchange("CUSTOMER", url.Values{"grant_type": {APITokenGrantType}, "api_token": {tok.Token}}), 200, "operator exchange")
	f.auth = ""
	return into[oauthToken](f.t, r).AccessToken
}

// secretHolds checks the appliance's secret format: vidb_ + base64("<id>#<secret>#<second>").
func secretHolds(t *testing.T, step string, tok APIToken) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok.Token, "vidb_"))
	parts := strings.Split(string(raw), "#")
	if err != nil || !strings.HasPrefix(tok.Token, "vidb_") || len(parts) != 3 || parts[0] != tok.ID ||
		parts[2] != strconv.FormatInt(tok.CreationDate/1000, 10) {
		t.Fatalf("%s: the secret decodes to %d parts (%v), want <id>#<secret>#<creation second>", step, len(parts), err)
	}
	if !strings.HasSuffix(tok.Token, tok.TokenLastChars) || len(tok.TokenLastChars) != 5 {
		t.Fatalf("%s: tokenLastChars %q is not the token's last 5 characters", step, tok.TokenLastChars)
	}
}

// sameShape checks that got has the seed's fields with the seed's JSON types, recursively
// (arrays by their first element); exact also refuses fields the seed does not show.
func sameShape(t *testing.T, step, seed, got string, exact bool) {
	t.Helper()
	var s, g any
	if err := json.Unmarshal([]byte(seed), &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %v in %s", step, err, got)
	}
	for _, d := range shapeDiff("", s, g, exact) {
		t.Errorf("%s: %s", step, d)
	}
}

func shapeDiff(at string, s, g any, exact bool) []string {
	if reflect.TypeOf(s) != reflect.TypeOf(g) {
		return []string{at + ": the seed has " + kind(s) + ", the simulator " + kind(g)}
	}
	var out []string
	switch s := s.(type) {
	case map[string]any:
		g := g.(map[string]any)
		for k, sv := range s {
			gv, ok := g[k]
			if !ok {
				out = append(out, at+"."+k+": missing")
				continue
			}
			out = append(out, shapeDiff(at+"."+k, sv, gv, exact)...)
		}
		for k := range g {
			if _, ok := s[k]; !ok && exact {
				out = append(out, at+"."+k+": not in the seed")
			}
		}
	case []any:
		g := g.([]any)
		if len(s) > 0 && len(g) > 0 {
			for i := range g {
				out = append(out, shapeDiff(at+"[]", s[0], g[i], exact)...)
			}
		}
	}
	return out
}

func kind(v any) string {
	if v == nil {
		return "null"
	}
	return reflect.TypeOf(v).String()
}

// sameJSON checks that got equals the seed's payload.
func sameJSON(t *testing.T, step, seed, got string) {
	t.Helper()
	var s, g any
	_ = json.Unmarshal([]byte(seed), &s)
	_ = json.Unmarshal([]byte(got), &g)
	if !reflect.DeepEqual(s, g) {
		t.Errorf("%s:\n got %s\nseed %s", step, got, seed)
	}
}

// sameValues checks that the named fields of got equal the seed's.
func sameValues(t *testing.T, step, seed string, got []byte, fields ...string) {
	t.Helper()
	var s, g map[string]any
	_ = json.Unmarshal([]byte(seed), &s)
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	for _, k := range fields {
		if !reflect.DeepEqual(s[k], g[k]) {
			t.Errorf("%s: %s = %v, the seed has %v", step, k, g[k], s[k])
		}
	}
}
