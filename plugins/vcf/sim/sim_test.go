package sim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestSimulatorInterface(t *testing.T) {
	var s simkit.Simulator = New(Config{})
	if s.Vendor() != "vcf" || s.Handler() == nil || s.Clock() == nil || s.Faults() == nil || s.Recorder() == nil {
		t.Fatalf("incomplete simulator: %+v", s)
	}
	// The default clock follows wall time.
	if d := time.Since(s.Clock().Now()); d < -time.Second || d > time.Second {
		t.Fatalf("default clock is %v away from wall time", d)
	}
}

// TestOnboarding walks the whole onboarding and rotation sequence a runbook performs.
func TestOnboarding(t *testing.T) {
	f := newFixture(t)

	// Log in.
	login := f.login()
	if !regexp.MustCompile(`^[0-9a-f-]{36}::[0-9a-f-]{36}$`).MatchString(login.Token) {
		t.Errorf("OpsToken %q is not <uuid>::<uuid>", login.Token)
	}
	wantExp := testStart.Add(6 * time.Hour)
	if login.Validity != wantExp.UnixMilli() {
		t.Errorf("validity = %d, want %d", login.Validity, wantExp.UnixMilli())
	}
	if login.ExpiresAt != "Monday, June 1, 2026 2:00:00 PM UTC" {
		t.Errorf("expiresAt = %q", login.ExpiresAt)
	}
	if len(login.Roles) != 1 || login.Roles[0] != "ADMIN" {
		t.Errorf("roles = %v", login.Roles)
	}

	// Find the realm.
	realms := into[realmList](t, f.expect(f.do("GET", iam+"/ssorealms", nil), 200, "list realms"))
	if len(realms.SsoRealms) != 2 {
		t.Fatalf("got %d realms, want 2", len(realms.SsoRealms))
	}
	var realm Realm
	for _, r := range realms.SsoRealms {
		if r.Name == "flt-idb02" {
			realm = r
		}
	}
	if realm.ID != DefaultRealms[1].ID || realm.VidbResourceID != DefaultRealms[1].VidbResourceID ||
		realm.CreatedAt != testStart.UnixMilli() || len(realm.SsoRealmCoverage) != 3 || realm.Issues == nil ||
		realm.IdpID == "" || realm.SsoRealmCoverage[1].SsoEntityType != "MANAGEMENT_COMPONENT" {
		t.Fatalf("realm flt-idb02 = %+v", realm)
	}
	got := into[Realm](t, f.expect(f.do("GET", iam+"/ssorealms/"+realm.ID, nil), 200, "get realm"))
	if got.Name != "flt-idb02" || got.VcfInstanceID != realm.VcfInstanceID {
		t.Fatalf("get realm = %+v", got)
	}
	base := iam + "/ssorealms/" + realm.ID

	// Create the API client, once.
	created := f.expect(f.do("POST", base+"/api-clients", map[string]string{
		"clientId": "iam-client", "clientName": "Iam Client", "clientDescription": "tokenflow onboarding",
	}), 201, "create client")
	client := into[createClientResponse](t, created)
	if client.ClientID != "iam-client" || client.ClientName != "Iam Client" ||
		client.ClientDescription != "tokenflow onboarding" || !uuidRE.MatchString(client.ClientUUID) {
		t.Fatalf("created client = %+v", client)
	}
	if _, has := created.fields(t)["roles"]; has {
		t.Error("the create answer carries roles")
	}
	dup := f.expect(f.do("POST", base+"/api-clients", map[string]string{
		"clientId": "iam-client", "clientName": "Other",
	}), 409, "duplicate client")
	if msg := dup.message(t); !strings.Contains(msg, "iam-client") {
		t.Errorf("409 message %q does not name the client", msg)
	}

	// Assign roles: PUT 200 with no body, then read them back.
	put := f.expect(f.do("PUT", base+"/principals/"+client.ClientUUID+"/roles", map[string]any{
		"vcfRoleAssignments": []map[string]any{
			{"roleName": "vcf_viewer", "roleScope": map[string]any{"scopeType": "SSO_REALM", "resources": []map[string]string{{"id": realm.ID}}}},
			{"roleName": "vcf_operator", "roleScope": map[string]any{"scopeType": "VCF_INSTANCE", "resources": []map[string]string{{"id": realm.VcfInstanceID}}}},
		},
	}), 200, "put roles")
	if len(put.body) != 0 {
		t.Errorf("PUT roles answered a body: %s", put.body)
	}
	roles := into[roleAssignments](t, f.expect(f.do("GET", base+"/principals/"+client.ClientUUID+"/roles", nil), 200, "get roles"))
	if len(roles.VcfRoleAssignments) != 2 {
		t.Fatalf("roles = %+v", roles)
	}
	if r0 := roles.VcfRoleAssignments[0]; r0.RoleName != "vcf_viewer" || r0.RoleDisplayName != "VCF Viewer" ||
		r0.RoleScope.ScopeType != "SSO_REALM" || len(r0.RoleScope.Resources) != 1 || r0.RoleScope.Resources[0].ID != realm.ID {
		t.Errorf("first assignment = %+v", r0)
	}
	full := into[APIClient](t, f.expect(f.do("GET", base+"/api-clients/iam-client", nil), 200, "get client"))
	if full.ClientUUID != client.ClientUUID || len(full.Roles) != 2 || full.Roles[1].RoleName != "vcf_operator" {
		t.Errorf("client with roles = %+v", full)
	}

	// Issue a token: 201 with the secret.
	f.clock.Advance(time.Minute)
	issuedAt := f.clock.Now()
	tok := f.createToken(realm.ID, map[string]any{
		"apiClientId": "iam-client", "tokenName": "automation", "tokenDescription": "rotated by tokenflow",
		"apiTokenTtl": 40320 + 2880, "accessTokenTtl": 60, "tokenType": "API_CLIENT",
	})
	// The appliance's format: vidb_ + base64("<id>#<64 letters and digits>#<creation second>").
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok.Token, "vidb_"))
	wantRaw := regexp.MustCompile(`^` + tok.ID + `#[A-Za-z0-9]{64}#` + strconv.FormatInt(issuedAt.Unix(), 10) + `$`)
	if !strings.HasPrefix(tok.Token, "vidb_") || err != nil || !wantRaw.Match(raw) {
		t.Errorf("secret decodes to %q (%v), want <id>#<64 alphanumerics>#<creation second>", raw, err)
	}
	// The create answer carries what seed 004's does: no tokenDescription, principalName or
	// principalStatus. GET carries them.
	want := APIToken{
		ID: tok.ID, APIClientID: "iam-client", TokenName: "automation",
		APITokenTTL: 43200, AccessTokenTTL: 60, TokenType: "API_CLIENT", Token: tok.Token,
		TokenLastChars: tok.Token[len(tok.Token)-5:],
		CreationDate:   issuedAt.UnixMilli(), ExpirationDate: issuedAt.Add(30 * 24 * time.Hour).UnixMilli(),
		LastUsedDate: issuedAt.UnixMilli(), TokenStatus: "ACTIVE",
		TokenEndpointURL: "https://vidb.sim.local/acs/t/CUSTOMER/token", OidcIssuerURL: "https://vidb.sim.local/acs/t/CUSTOMER",
	}
	if tok != want {
		t.Fatalf("issued token\n got %+v\nwant %+v", tok, want)
	}
	want.Token, want.TokenDescription, want.PrincipalName, want.PrincipalStatus = "", "rotated by tokenflow", "iam-client", "ACTIVE"
	if got := into[APIToken](t, f.expect(f.do("GET", base+"/api-tokens/"+tok.ID, nil), 200, "get token")); got != want {
		t.Fatalf("GET token\n got %+v\nwant %+v", got, want)
	}
	if !uuidRE.MatchString(tok.ID) {
		t.Errorf("token id %q is not a UUID", tok.ID)
	}
	if !f.sim.TokenSecretValid(tok.Token) {
		t.Fatal("the issued secret is not valid")
	}

	// GET shows it without the secret.
	getResp := f.expect(f.do("GET", base+"/api-tokens/"+tok.ID, nil), 200, "get token")
	if _, has := getResp.fields(t)["token"]; has {
		t.Fatalf("GET answered the secret: %s", getResp.body)
	}
	want.Token = ""
	if g := into[APIToken](t, getResp); g != want {
		t.Fatalf("GET token\n got %+v\nwant %+v", g, want)
	}

	// 119 more tokens, then page through all 120.
	for i := 1; i < 120; i++ {
		f.createToken(realm.ID, map[string]any{"apiClientId": "iam-client", "tokenName": fmt.Sprintf("bulk-%03d", i)})
	}
	seen := map[string]bool{}
	var order []string
	for page, wantLen := range []int{50, 50, 20, 0} {
		r := f.expect(f.do("POST", fmt.Sprintf("%s/api-tokens/query?page=%d&pageSize=50", base, page), map[string]any{}), 200, "query tokens")
		p := into[tokenPageView](t, r)
		if p.PageInfo != (PageInfo{TotalCount: 120, Page: page, PageSize: 50, SortOrder: "ASCENDING"}) {
			t.Fatalf("page %d pageInfo = %+v", page, p.PageInfo)
		}
		if len(p.APITokens) != wantLen {
			t.Fatalf("page %d has %d tokens, want %d", page, len(p.APITokens), wantLen)
		}
		if strings.Contains(string(r.body), `"token":`) {
			t.Fatalf("query answered a secret on page %d", page)
		}
		for _, at := range p.APITokens {
			if seen[at.ID] {
				t.Fatalf("token %s on two pages", at.ID)
			}
			seen[at.ID] = true
			order = append(order, at.TokenName)
		}
	}
	if len(seen) != 120 || order[0] != "automation" || order[1] != "bulk-001" || order[119] != "bulk-119" {
		t.Fatalf("paging saw %d tokens in order %v...%v", len(seen), order[:2], order[len(order)-1:])
	}
	// Default page size is 50.
	p := into[tokenPageView](t, f.expect(f.do("POST", base+"/api-tokens/query", nil), 200, "query without paging"))
	if p.PageInfo.PageSize != 50 || len(p.APITokens) != 50 || p.PageInfo.TotalCount != 120 {
		t.Fatalf("default paging = %+v with %d tokens", p.PageInfo, len(p.APITokens))
	}

	// Regenerate: a new secret, the old one dead, the life restarted.
	f.clock.Advance(10 * 24 * time.Hour)
	f.expect(f.do("GET", iam+"/ssorealms", nil), 401, "the OpsToken expired meanwhile")
	f.login()
	regenAt := f.clock.Now()
	regen := into[APIToken](t, f.expect(f.do("POST", base+"/api-tokens/"+tok.ID+"/regenerate", nil), 200, "regenerate"))
	// Like the appliance in seed 004, the regenerated token has a new id; the old one is gone.
	if regen.Token == "" || regen.Token == tok.Token || regen.ID == tok.ID || !uuidRE.MatchString(regen.ID) {
		t.Fatalf("regenerated token = %+v", regen)
	}
	f.expect(f.do("GET", base+"/api-tokens/"+tok.ID, nil), 404, "the id before the regenerate")
	f.expect(f.do("POST", base+"/api-tokens/"+tok.ID+"/regenerate", nil), 404, "regenerate the id before the regenerate")
	f.expect(f.do("GET", base+"/api-tokens/"+regen.ID, nil), 200, "the regenerated id")
	if regen.CreationDate != regenAt.UnixMilli() || regen.ExpirationDate != regenAt.Add(30*24*time.Hour).UnixMilli() ||
		regen.TokenLastChars != regen.Token[len(regen.Token)-5:] || regen.TokenStatus != "ACTIVE" {
		t.Fatalf("regenerated token dates/status = %+v", regen)
	}
	if f.sim.TokenSecretValid(tok.Token) {
		t.Fatal("the old secret still works after regenerate")
	}
	if !f.sim.TokenSecretValid(regen.Token) {
		t.Fatal("the new secret does not work")
	}

	// Delete: 204, then 404.
	del := f.expect(f.do("DELETE", base+"/api-tokens/"+regen.ID, nil), 204, "delete token")
	if len(del.body) != 0 {
		t.Errorf("204 with a body: %s", del.body)
	}
	f.expect(f.do("GET", base+"/api-tokens/"+regen.ID, nil), 404, "get deleted token")
	f.expect(f.do("DELETE", base+"/api-tokens/"+regen.ID, nil), 404, "delete deleted token")
	if f.sim.TokenSecretValid(regen.Token) {
		t.Fatal("a deleted token's secret still works")
	}
	if n := len(f.sim.Tokens(realm.ID)); n != 119 {
		t.Fatalf("%d tokens left, want 119", n)
	}

	// What the simulator saw: 1 client + 1 duplicate + 1 PUT + 120 tokens + 2 regenerates (one of a gone id) + 2 deletes.
	if w := f.sim.Recorder().Writes(); w != 127 {
		t.Errorf("Writes() = %d, want 127", w)
	}
	if n := f.sim.Recorder().Count("POST", base+"/api-tokens/query"); n != 5 {
		t.Errorf("%d token queries recorded, want 5", n)
	}
}

func TestOpsTokenAuth(t *testing.T) {
	f := newFixture(t)
	login := f.login()
	cur := "/suite-api/api/versions/current"

	tests := []struct {
		name, auth string
		want       int
	}{
		{"no header", "", 401},
		{"unknown token", "OpsToken 1b4f::nope", 401},
		{"other scheme", "Basic " + login.Token, 401},
		{"empty token", "OpsToken ", 401},
		{"OpsToken", "OpsToken " + login.Token, 200},
		{"scheme is case-insensitive", "opstoken " + login.Token, 200},
		{"Bearer with an OpsToken", "Bearer " + login.Token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{cur, iam + "/ssorealms", iam + "/settings"} {
				r := f.doAuth(tt.auth, "GET", path, nil)
				if r.status != tt.want {
					t.Fatalf("GET %s: %d, want %d (%s)", path, r.status, tt.want, r.body)
				}
				if tt.want == 401 && r.message(t) == "" {
					t.Fatalf("401 without a message: %s", r.body)
				}
			}
		})
	}

	v := into[versionInfo](t, f.expect(f.do("GET", cur, nil), 200, "version"))
	if v.ReleaseName != "VCF Operations 9.1.1.0" || v.Major != 9 || v.Minor != 1 || v.MinorMinor != 1 || v.Patch != 0 || v.ReleasedDate == 0 {
		t.Fatalf("version = %+v", v)
	}

	// Bad credentials.
	for _, body := range []any{
		map[string]string{"username": DefaultUser, "password": "wrong"},
		map[string]string{"username": "nobody", "password": DefaultPassword},
		map[string]string{},
	} {
		f.expect(f.doAuth("", "POST", "/suite-api/api/auth/token/acquire", body), 401, fmt.Sprintf("acquire %v", body))
	}
	f.expect(f.doAuth("", "POST", "/suite-api/api/auth/token/acquire", "username=admin"), 400, "acquire with a form body")

	// Expiry by the simulator clock.
	f.clock.Advance(6*time.Hour - time.Second)
	f.expect(f.do("GET", iam+"/ssorealms", nil), 200, "just before expiry")
	f.clock.Advance(time.Second)
	f.expect(f.do("GET", iam+"/ssorealms", nil), 401, "at expiry")

	// Release invalidates.
	f.login()
	f.expect(f.do("POST", "/suite-api/api/auth/token/release", nil), 200, "release")
	f.expect(f.do("GET", iam+"/ssorealms", nil), 401, "after release")
	f.expect(f.do("POST", "/suite-api/api/auth/token/release", nil), 401, "release twice")
}

func TestCustomUsersAndTTL(t *testing.T) {
	clock := simkit.NewClock(testStart)
	s := New(Config{Clock: clock, Users: map[string]string{"ops": "pw"}, OpsTokenTTL: time.Hour, AdvertisedHost: "127.0.0.1:8443",
		Realms: []Realm{{Name: "only", VidbResourceID: "v"}}})
	ca, _ := simkit.NewCA()
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	f := &fixture{t: t, sim: s, clock: clock, url: srv.URL, client: srv.Client()}

	f.expect(f.do("POST", "/suite-api/api/auth/token/acquire", map[string]string{"username": DefaultUser, "password": DefaultPassword}), 401, "default user")
	a := into[acquireResponse](t, f.expect(f.do("POST", "/suite-api/api/auth/token/acquire", map[string]string{"username": "ops", "password": "pw"}), 200, "custom user"))
	if a.Validity != testStart.Add(time.Hour).UnixMilli() {
		t.Fatalf("validity %d, want 1h", a.Validity)
	}
	f.auth = "OpsToken " + a.Token
	realms := into[realmList](t, f.expect(f.do("GET", iam+"/ssorealms", nil), 200, "realms"))
	if len(realms.SsoRealms) != 1 || !uuidRE.MatchString(realms.SsoRealms[0].ID) {
		t.Fatalf("realms = %+v", realms)
	}
	id := realms.SsoRealms[0].ID
	f.createClient(id, "c")
	tok := f.createToken(id, map[string]any{"apiClientId": "c", "tokenName": "t"})
	if tok.TokenEndpointURL != "https://127.0.0.1:8443/acs/t/CUSTOMER/token" {
		t.Fatalf("tokenEndpointUrl = %q", tok.TokenEndpointURL)
	}
}

func TestSettings(t *testing.T) {
	f := newFixture(t)
	f.login()
	r := f.expect(f.do("GET", iam+"/settings", nil), 200, "settings")
	got := into[Settings](t, r)
	want := Settings{APITokenTTL: 43200, AccessTokenTTL: 480, APITokenRetentionPeriod: 43200}
	if got != want {
		t.Fatalf("settings = %+v, want %+v", got, want)
	}
	for _, k := range []string{"apiTokenTtl", "accessTokenTtl", "apiTokenRetentionPeriod", "jitInactiveUserTtl", "jitInactiveUserEnabled", "allUsersGroupEnabled"} {
		if _, has := r.fields(t)[k]; !has {
			t.Errorf("settings lack %s", k)
		}
	}
}

func TestFaultsReachClients(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	f.sim.Faults().Add(simkit.Fault{Method: "POST", PathPrefix: iam + "/ssorealms/" + realm + "/api-clients", Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second, Times: 1})
	r := f.do("POST", iam+"/ssorealms/"+realm+"/api-clients", map[string]string{"clientId": "c", "clientName": "n"})
	if r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("got %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if len(f.sim.APIClients(realm)) != 0 {
		t.Fatal("the refused request created a client")
	}
	f.createClient(realm, "c") // the fault is used up
}

// TestReadsAreNotWrites checks that what a dry run may send (login, lookups, queries) records
// no write.
func TestReadsAreNotWrites(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb02")
	f.do("GET", iam+"/ssorealms", nil)
	f.do("GET", iam+"/ssorealms/"+realm, nil)
	f.do("POST", iam+"/ssorealms/"+realm+"/api-clients/query", map[string]any{})
	f.do("POST", iam+"/ssorealms/"+realm+"/api-tokens/query?page=0&pageSize=10", map[string]any{})
	f.do("GET", "/suite-api/api/versions/current", nil)
	f.do("POST", "/suite-api/api/auth/token/release", nil)
	rec := f.sim.Recorder()
	if n := len(rec.Entries()); n != 7 {
		t.Fatalf("%d requests recorded, want 7", n)
	}
	if w := rec.Writes(); w != 0 {
		t.Fatalf("Writes() = %d, want 0: %+v", w, rec.Entries())
	}
	f.login()
	f.createClient(realm, "c")
	if w := rec.Writes(); w != 1 {
		t.Fatalf("Writes() = %d after creating a client, want 1", w)
	}
	if e := rec.Entries(); !e[len(e)-1].Time.Equal(testStart) {
		t.Fatalf("entries are not stamped by the simulator clock: %v", e[len(e)-1].Time)
	}
}
