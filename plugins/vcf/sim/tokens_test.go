package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenTTLBounds(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	f.createClient(realm, "ttl-client")

	tests := []struct {
		name       string
		apiTTL     any // nil = omitted
		accessTTL  any
		wantStatus int
		wantAPI    int
		wantAccess int
		wantMsg    string
	}{
		{"defaults", nil, nil, 201, 43200, 480, ""},
		{"minimums", 43200, 30, 201, 43200, 30, ""},
		{"maximums", 259200, 480, 201, 259200, 480, ""},
		{"90 days", 129600, 240, 201, 129600, 240, ""},
		// Seed 004's 28-day token, with its TTLs sent as strings, as the seed sends them.
		{"seed 004: 28 days as strings", "40320", "30", 201, 40320, 30, ""},
		{"28 days as a number", 40320, nil, 201, 40320, 480, ""},
		{"api ttl above", 259201, nil, 400, 0, 0, "apiTokenTtl must be between 1 and 259200"},
		{"api ttl above as a string", "259201", nil, 400, 0, 0, "apiTokenTtl must be between 1 and 259200"},
		{"api ttl zero", 0, nil, 400, 0, 0, "apiTokenTtl must be between 1 and 259200"},
		{"access ttl below", nil, 29, 400, 0, 0, "accessTokenTtl must be between 30 and 480"},
		{"access ttl above", nil, "481", 400, 0, 0, "accessTokenTtl must be between 30 and 480"},
		{"api ttl not digits", "28d", nil, 400, 0, 0, "want a whole number of minutes"},
		{"api ttl fractional", 40320.5, nil, 400, 0, 0, "want a whole number of minutes"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"apiClientId": "ttl-client", "tokenName": fmt.Sprintf("t%d", i), "tokenType": "API_CLIENT"}
			if tt.apiTTL != nil {
				body["apiTokenTtl"] = tt.apiTTL
			}
			if tt.accessTTL != nil {
				body["accessTokenTtl"] = tt.accessTTL
			}
			r := f.expect(f.do("POST", iam+"/ssorealms/"+realm+"/api-tokens", body), tt.wantStatus, tt.name)
			if tt.wantStatus != 201 {
				if msg := r.message(t); !strings.Contains(msg, tt.wantMsg) {
					t.Fatalf("message %q, want it to contain %q", msg, tt.wantMsg)
				}
				return
			}
			tok := into[APIToken](t, r)
			if tok.APITokenTTL != tt.wantAPI || tok.AccessTokenTTL != tt.wantAccess {
				t.Fatalf("TTLs = %d/%d, want %d/%d", tok.APITokenTTL, tok.AccessTokenTTL, tt.wantAPI, tt.wantAccess)
			}
			if tok.ExpirationDate-tok.CreationDate != int64(tt.wantAPI)*60*1000 {
				t.Fatalf("expirationDate - creationDate = %d ms, want %d minutes", tok.ExpirationDate-tok.CreationDate, tt.wantAPI)
			}
		})
	}
	if n := len(f.sim.Tokens(realm)); n != 6 {
		t.Fatalf("%d tokens stored, want 6 (the rejected ones must not be)", n)
	}
}

func TestTokenExpiry(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb02")
	base := iam + "/ssorealms/" + realm
	f.createClient(realm, "exp-client")
	short := f.createToken(realm, map[string]any{"apiClientId": "exp-client", "tokenName": "short"})                      // 30 d
	long := f.createToken(realm, map[string]any{"apiClientId": "exp-client", "tokenName": "long", "apiTokenTtl": 259200}) // 180 d

	status := func(id string) string {
		f.login() // the clock jumps further than an OpsToken lives
		return into[APIToken](t, f.expect(f.do("GET", base+"/api-tokens/"+id, nil), 200, "get token")).TokenStatus
	}

	f.clock.Advance(30*24*time.Hour - time.Minute)
	if s := status(short.ID); s != "ACTIVE" {
		t.Fatalf("a minute before expiry: %s", s)
	}
	if !f.sim.TokenSecretValid(short.Token) {
		t.Fatal("secret invalid before expiry")
	}
	f.clock.Advance(time.Minute)
	if s := status(short.ID); s != "EXPIRED" {
		t.Fatalf("at expiry: %s", s)
	}
	if s := status(long.ID); s != "ACTIVE" {
		t.Fatalf("the 180-day token: %s", s)
	}
	if f.sim.TokenSecretValid(short.Token) {
		t.Fatal("an expired secret is valid")
	}

	// Filter by status.
	p := into[tokenPageView](t, f.expect(f.do("POST", base+"/api-tokens/query",
		map[string]any{"filters": map[string]any{"tokenStatus": []string{"EXPIRED"}}}), 200, "query expired"))
	if p.PageInfo.TotalCount != 1 || p.APITokens[0].ID != short.ID || p.APITokens[0].TokenStatus != "EXPIRED" {
		t.Fatalf("expired tokens = %+v", p)
	}

	// Regenerating revives it.
	regen := into[APIToken](t, f.expect(f.do("POST", base+"/api-tokens/"+short.ID+"/regenerate", nil), 200, "regenerate"))
	if regen.TokenStatus != "ACTIVE" || !f.sim.TokenSecretValid(regen.Token) {
		t.Fatalf("regenerated expired token = %+v", regen)
	}

	f.clock.Advance(150 * 24 * time.Hour)
	for _, tok := range f.sim.Tokens(realm) {
		if tok.TokenStatus != "EXPIRED" {
			t.Fatalf("after 180 days token %s is %s", tok.TokenName, tok.TokenStatus)
		}
	}
}

func TestTokenQuery(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	base := iam + "/ssorealms/" + realm
	f.createClient(realm, "alpha")
	f.createClient(realm, "beta")
	// Created an hour apart: creation order c1..c5, with varied TTLs.
	specs := []struct {
		client, name string
		ttl          int
	}{
		{"alpha", "Nightly-Backup", 43200},
		{"alpha", "ci-pipeline", 259200},
		{"beta", "monitoring", 86400},
		{"beta", "backup-verify", 43200},
		{"alpha", "zz-last", 129600},
	}
	for _, s := range specs {
		f.createToken(realm, map[string]any{"apiClientId": s.client, "tokenName": s.name, "apiTokenTtl": s.ttl})
		f.clock.Advance(time.Hour)
	}
	f.login()

	names := func(query string, body any) []string {
		t.Helper()
		p := into[tokenPageView](t, f.expect(f.do("POST", base+"/api-tokens/query"+query, body), 200, "query "+query))
		out := []string{}
		for _, tok := range p.APITokens {
			out = append(out, tok.TokenName)
		}
		if p.PageInfo.TotalCount < len(out) {
			t.Fatalf("totalCount %d < page length %d", p.PageInfo.TotalCount, len(out))
		}
		return out
	}
	terms := func(kind string, ts ...map[string]any) map[string]any {
		return map[string]any{"searchTerms": map[string]any{kind: ts}}
	}
	term := func(field, op string, values ...string) map[string]any {
		return map[string]any{"field": field, "operator": op, "terms": values}
	}

	tests := []struct {
		name, query string
		body        any
		want        string
	}{
		{"all in creation order", "", map[string]any{}, "Nightly-Backup ci-pipeline monitoring backup-verify zz-last"},
		{"no body", "", nil, "Nightly-Backup ci-pipeline monitoring backup-verify zz-last"},
		{"LIKE is a case-insensitive substring", "", terms("allOf", term("TOKEN_NAME", "LIKE", "BACKUP")), "Nightly-Backup backup-verify"},
		{"LIKE with %", "", terms("allOf", term("TOKEN_NAME", "LIKE", "backup%")), "backup-verify"},
		{"EQUALS is exact", "", terms("allOf", term("TOKEN_NAME", "EQUALS", "nightly-backup")), ""},
		{"EQUALS any of the terms", "", terms("allOf", term("TOKEN_NAME", "EQUALS", "monitoring", "zz-last")), "monitoring zz-last"},
		{"PRINCIPAL_NAME", "", terms("allOf", term("PRINCIPAL_NAME", "EQUALS", "beta")), "monitoring backup-verify"},
		{"CLIENT_ID and TOKEN_NAME", "", terms("allOf", term("CLIENT_ID", "EQUALS", "alpha"), term("TOKEN_NAME", "LIKE", "i")),
			"Nightly-Backup ci-pipeline"},
		{"anyOf", "", terms("anyOf", term("TOKEN_NAME", "LIKE", "zz"), term("CLIENT_ID", "EQUALS", "beta")), "monitoring backup-verify zz-last"},
		{"NOT_EMPTY", "", terms("allOf", term("TOKEN_NAME", "NOT_EMPTY")), "Nightly-Backup ci-pipeline monitoring backup-verify zz-last"},
		{"EMPTY", "", terms("allOf", term("TOKEN_NAME", "EMPTY")), ""},
		{"filter tokenType", "", map[string]any{"filters": map[string]any{"tokenType": []string{"API_CLIENT"}}}, "Nightly-Backup ci-pipeline monitoring backup-verify zz-last"},
		{"filter tokenType USER", "", map[string]any{"filters": map[string]any{"tokenType": []string{"USER"}}}, ""},
		{"sort by name", "?sortBy=tokenName&sortOrder=ASCENDING", nil, "Nightly-Backup backup-verify ci-pipeline monitoring zz-last"},
		{"sort by name desc", "?sortBy=tokenName&sortOrder=descending", nil, "zz-last monitoring ci-pipeline backup-verify Nightly-Backup"},
		{"sort by expiration", "?sortBy=expirationDate", nil, "Nightly-Backup backup-verify monitoring zz-last ci-pipeline"},
		{"sort by creation desc", "?sortBy=creationDate&sortOrder=DESCENDING", nil, "zz-last backup-verify monitoring ci-pipeline Nightly-Backup"},
		{"page 1 of 2", "?page=1&pageSize=2&sortBy=tokenName", nil, "ci-pipeline monitoring"},
		{"page past the end", "?page=9&pageSize=2", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(names(tt.query, tt.body), " "); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}

	bad := []struct {
		name, query string
		body        any
		want        string
	}{
		{"pageSize too large", "?pageSize=1001", nil, "pageSize must be an integer between 1 and 1000"},
		{"pageSize zero", "?pageSize=0", nil, "pageSize"},
		{"negative page", "?page=-1", nil, "page must be"},
		{"page not a number", "?page=two", nil, "page must be"},
		{"unknown sortBy", "?sortBy=owner", nil, "sortBy"},
		{"unknown sortOrder", "?sortOrder=up", nil, "sortOrder"},
		{"ASC is not the spec's spelling", "?sortOrder=ASC", nil, "sortOrder must be ASCENDING or DESCENDING"},
		{"unknown field", "", terms("allOf", term("CLIENT_NAME", "EQUALS", "x")), `unsupported field "CLIENT_NAME"`},
		{"unknown operator", "", terms("allOf", term("TOKEN_NAME", "STARTS_WITH", "x")), "unsupported operator"},
		{"EQUALS without terms", "", terms("allOf", term("TOKEN_NAME", "EQUALS")), "at least one term"},
		{"unknown status", "", map[string]any{"filters": map[string]any{"tokenStatus": []string{"REVOKED"}}}, "tokenStatus"},
		{"not JSON", "", "{not json", "invalid JSON"},
	}
	for _, tt := range bad {
		t.Run("400 "+tt.name, func(t *testing.T) {
			r := f.expect(f.do("POST", base+"/api-tokens/query"+tt.query, tt.body), 400, tt.name)
			if msg := r.message(t); !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	// pageSize 1000 is allowed.
	f.expect(f.do("POST", base+"/api-tokens/query?pageSize=1000", nil), 200, "pageSize 1000")
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	base := iam + "/ssorealms/" + realm
	f.createClient(realm, "c1")
	f.createClient(realm, "c2")
	f.createToken(realm, map[string]any{"apiClientId": "c1", "tokenName": "same"})

	tests := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"missing tokenName", map[string]any{"apiClientId": "c1"}, 400, "tokenName is required"},
		{"missing apiClientId", map[string]any{"tokenName": "x"}, 400, "apiClientId is required"},
		{"USER token type", map[string]any{"apiClientId": "c1", "tokenName": "x", "tokenType": "USER"}, 400, "tokenType"},
		{"unknown client", map[string]any{"apiClientId": "ghost", "tokenName": "x"}, 404, "ghost"},
		{"duplicate name for the client", map[string]any{"apiClientId": "c1", "tokenName": "same"}, 409, "same"},
		{"empty body", nil, 400, "empty"},
		{"not JSON", "tokenName=x", 400, "invalid JSON"},
		{"JSON array", "[]", 400, "invalid JSON body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.expect(f.do("POST", base+"/api-tokens", tt.body), tt.status, tt.name)
			if msg := r.message(t); !strings.Contains(msg, tt.msg) {
				t.Fatalf("message %q, want it to contain %q", msg, tt.msg)
			}
		})
	}
	// The same name under another client is fine.
	f.createToken(realm, map[string]any{"apiClientId": "c2", "tokenName": "same"})

	unknown := "00000000-0000-4000-8000-000000000000"
	f.expect(f.do("GET", base+"/api-tokens/"+unknown, nil), 404, "get unknown token")
	f.expect(f.do("DELETE", base+"/api-tokens/"+unknown, nil), 404, "delete unknown token")
	f.expect(f.do("POST", base+"/api-tokens/"+unknown+"/regenerate", nil), 404, "regenerate unknown token")
	// A token is only visible in its own realm.
	tok := f.sim.Tokens(realm)[0]
	f.expect(f.do("GET", iam+"/ssorealms/"+f.realmID("flt-idb02")+"/api-tokens/"+tok.ID, nil), 404, "token via another realm")
}

func TestConcurrentTokenCreation(t *testing.T) {
	f := newFixture(t)
	f.login()
	realm := f.realmID("flt-idb01")
	f.createClient(realm, "busy")
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("t%02d", i)
			body := fmt.Sprintf(`{"apiClientId":"busy","tokenName":%q}`, name)
			req, _ := http.NewRequest("POST", f.url+iam+"/ssorealms/"+realm+"/api-tokens", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", f.auth)
			resp, err := f.client.Do(req)
			if err != nil {
				errs <- name + ": " + err.Error()
				return
			}
			defer resp.Body.Close()
			var tok APIToken
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 201 {
				errs <- fmt.Sprintf("%s: status %d, %v", name, resp.StatusCode, err)
				return
			}
			if !f.sim.TokenSecretValid(tok.Token) {
				errs <- name + ": the issued secret is invalid"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(f.sim.Tokens(realm)); n != 40 {
		t.Fatalf("%d tokens, want 40", n)
	}
}
