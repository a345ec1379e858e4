package sim

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (f *fixture) exchange(tenant string, form url.Values) response {
	f.t.Helper()
	req := form.Encode()
	r, err := f.client.Post(f.url+"/acs/t/"+tenant+"/token", "application/x-www-form-urlencoded", strings.NewReader(req))
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: r.StatusCode, header: r.Header, body: body}
}

func TestIdentityBrokerExchange(t *testing.T) {
	f := newFixture(t)
	f.login()
	ops := f.auth
	realm := f.realmID("flt-idb02")
	base := iam + "/ssorealms/" + realm
	c := f.createClient(realm, "auto")
	tok := f.createToken(realm, map[string]any{"apiClientId": "auto", "tokenName": "t", "accessTokenTtl": 60})

	// No role yet: the exchange works, but the access token may do nothing.
	f.clock.Advance(time.Hour)
	r := f.expect(f.exchange("CUSTOMER", url.Values{"grant_type": {APITokenGrantType}, "api_token": {tok.Token}}), 200, "exchange")
	at := into[oauthToken](t, r)
	if at.TokenType != "Bearer" || at.ExpiresIn != 3600 || len(at.AccessToken) < 40 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("access token answer = %+v %v", at, r.header)
	}
	f.login()
	if got := into[APIToken](t, f.expect(f.do("GET", base+"/api-tokens/"+tok.ID, nil), 200, "get")); got.LastUsedDate != f.clock.Now().UnixMilli() {
		t.Fatalf("lastUsedDate = %d, want the exchange time %d", got.LastUsedDate, f.clock.Now().UnixMilli())
	}
	bearer := "Bearer " + at.AccessToken
	f.expect(f.doAuth(bearer, "GET", iam+"/ssorealms", nil), 403, "no roles")

	// A viewer reads, queries, but does not write.
	f.expect(f.do("PUT", base+"/principals/"+c.ClientUUID+"/roles", map[string]any{"vcfRoleAssignments": []map[string]any{
		{"roleName": "vcf_viewer", "roleScope": map[string]string{"scopeType": "SSO_REALM"}},
	}}), 200, "viewer")
	f.expect(f.doAuth(bearer, "GET", iam+"/ssorealms", nil), 200, "viewer reads")
	f.expect(f.doAuth(bearer, "POST", base+"/api-tokens/query", nil), 200, "viewer queries")
	f.expect(f.doAuth(bearer, "POST", base+"/api-clients", map[string]string{"clientId": "x", "clientName": "x"}), 403, "viewer writes")

	// An administrator writes.
	f.auth = ops
	f.expect(f.do("PUT", base+"/principals/"+c.ClientUUID+"/roles", map[string]any{"vcfRoleAssignments": []map[string]any{
		{"roleName": "vcf_administrator", "roleScope": map[string]string{"scopeType": "VCF_INSTANCE"}},
	}}), 200, "admin")
	f.expect(f.doAuth(bearer, "POST", base+"/api-clients", map[string]string{"clientId": "x", "clientName": "x"}), 201, "admin writes")

	// The access token lives accessTokenTtl.
	f.clock.Advance(time.Hour)
	f.expect(f.doAuth(bearer, "GET", iam+"/ssorealms", nil), 401, "expired access token")

	// Only the documented grant exchanges an API token: refresh_token (a guess once) does not.
	r = f.expect(f.exchange("CUSTOMER", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Token}}), 400, "refresh_token grant")
	if !strings.Contains(string(r.body), "unsupported_grant_type") {
		t.Fatalf("refresh_token grant answered %s", r.body)
	}
	f.login()
	tok.ID = into[APIToken](t, f.expect(f.do("POST", base+"/api-tokens/"+tok.ID+"/regenerate", nil), 200, "regenerate")).ID
	bad := []struct {
		name, tenant string
		form         url.Values
		code         string
	}{
		{"old secret", "CUSTOMER", url.Values{"grant_type": {APITokenGrantType}, "api_token": {tok.Token}}, "invalid_grant"},
		{"wrong tenant", "OTHER", url.Values{"grant_type": {APITokenGrantType}, "api_token": {tok.Token}}, "invalid_grant"},
		{"no token", "CUSTOMER", url.Values{"grant_type": {APITokenGrantType}}, "invalid_request"},
		{"no grant", "CUSTOMER", url.Values{"api_token": {tok.Token}}, "invalid_request"},
		{"password grant", "CUSTOMER", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
	}
	for _, tt := range bad {
		r := f.expect(f.exchange(tt.tenant, tt.form), 400, tt.name)
		if e := into[oauthError](t, r); e.Error != tt.code || e.ErrorDescription == "" {
			t.Errorf("%s: %+v, want %s", tt.name, e, tt.code)
		}
	}
	// JSON is not what the token endpoint takes.
	f.expect(f.doAuth("", "POST", "/acs/t/CUSTOMER/token", map[string]string{"api_token": "x"}), 400, "JSON body")

	// Deleting the client kills its access tokens.
	r = f.expect(f.exchange("CUSTOMER", url.Values{"grant_type": {APITokenGrantType}, "api_token": {f.rotatedSecret(base, tok.ID)}}), 200, "exchange the new secret")
	bearer = "Bearer " + into[oauthToken](t, r).AccessToken
	f.expect(f.doAuth(bearer, "GET", iam+"/ssorealms", nil), 200, "new access token")
	f.expect(f.do("DELETE", base+"/api-clients/auto", nil), 204, "delete client")
	f.expect(f.doAuth(bearer, "GET", iam+"/ssorealms", nil), 401, "access token of a deleted client")
}

// rotatedSecret regenerates a token and returns its new secret.
func (f *fixture) rotatedSecret(base, id string) string {
	f.t.Helper()
	return into[APIToken](f.t, f.expect(f.do("POST", base+"/api-tokens/"+id+"/regenerate", nil), 200, "regenerate")).Token
}

// TestTokenEndpointURLReachable follows tokenEndpointUrl as a client would, once the advertised
// host is the simulator's own listener.
func TestTokenEndpointURLReachable(t *testing.T) {
	f := newFixture(t)
	f.login()
	realms := f.sim.Realms()
	if len(realms) != 2 || realms[0].Name != "flt-idb01" || realms[0].Tenant != "CUSTOMER" {
		t.Fatalf("Realms() = %+v", realms)
	}
	realm := realms[0].ID
	f.createClient(realm, "c")
	tok := f.createToken(realm, map[string]any{"apiClientId": "c", "tokenName": "t"})
	if !strings.HasPrefix(tok.TokenEndpointURL, "https://vidb.sim.local/") {
		t.Fatalf("tokenEndpointUrl = %q", tok.TokenEndpointURL)
	}

	u, _ := url.Parse(f.url)
	f.sim.SetAdvertisedHost(u.Host)
	got := into[APIToken](t, f.expect(f.do("GET", iam+"/ssorealms/"+realm+"/api-tokens/"+tok.ID, nil), 200, "get"))
	if got.TokenEndpointURL != f.url+"/acs/t/CUSTOMER/token" || got.OidcIssuerURL != f.url+"/acs/t/CUSTOMER" {
		t.Fatalf("URLs after SetAdvertisedHost: %q %q", got.TokenEndpointURL, got.OidcIssuerURL)
	}
	resp, err := f.client.PostForm(got.TokenEndpointURL, url.Values{"grant_type": {APITokenGrantType}, "api_token": {tok.Token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("exchange at tokenEndpointUrl: %d", resp.StatusCode)
	}
}
