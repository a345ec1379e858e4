package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var testStart = time.Date(2026, time.June, 1, 8, 0, 0, 0, time.UTC)

// fixture is a simulator served over TLS with a generated CA, and a plain net/http client that
// trusts that CA (and nothing else).
type fixture struct {
	t      *testing.T
	sim    *Sim
	url    string
	client *http.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := New(Config{Clock: simkit.NewClock(testStart)})
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &fixture{t: t, sim: s, url: srv.URL, client: srv.Client()}
}

type response struct {
	status int
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %T from %d %s: %v", v, r.status, r.body, err)
	}
}

func (r response) err(t *testing.T) APIError {
	t.Helper()
	var e APIError
	r.json(t, &e)
	return e
}

// do sends a request; hdr holds headers ("X-F5-Auth-Token": tok, or "basic": "user:pass").
func (f *fixture) do(method, path string, body any, hdr map[string]string) response {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "basic" {
			u, p, _ := strings.Cut(v, ":")
			req.SetBasicAuth(u, p)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: data}
}

func (f *fixture) login(user, pass, provider string) (LoginResponse, response) {
	f.t.Helper()
	body := map[string]string{"username": user, "password": pass}
	if provider != "" {
		body["loginProviderName"] = provider
	}
	r := f.do(http.MethodPost, loginPath, body, nil)
	var lr LoginResponse
	if r.status == http.StatusOK {
		r.json(f.t, &lr)
	}
	return lr, r
}

func (f *fixture) mustLogin(user, pass string) string {
	f.t.Helper()
	lr, r := f.login(user, pass, "tmos")
	if r.status != http.StatusOK {
		f.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	return lr.Token.Token
}

func tok(t string) map[string]string { return map[string]string{authHeader: t} }

var tokenRE = regexp.MustCompile(`^[A-Z2-7]{26}$`)

func TestLoginAnswersTheBIGIPShape(t *testing.T) {
	f := newFixture(t)
	lr, r := f.login(DefaultUser, DefaultPassword, "tmos")
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	it := lr.Token
	if !tokenRE.MatchString(it.Token) || it.Name != it.Token {
		t.Fatalf("token %q name %q: want 26 uppercase base32 characters, twice", it.Token, it.Name)
	}
	if lr.Username != DefaultUser || lr.LoginProviderName != "tmos" || it.UserName != DefaultUser || it.AuthProviderName != "tmos" {
		t.Fatalf("login = %+v", lr)
	}
	if it.Timeout != 1200 || it.Kind != "shared:authz:tokens:authtokenitemstate" || it.Partition != "[All]" {
		t.Fatalf("token item = %+v", it)
	}
	if it.SelfLink != "https://localhost/mgmt/shared/authz/tokens/"+it.Token || it.User.Link != "https://localhost/mgmt/shared/authz/users/"+DefaultUser {
		t.Fatalf("links = %q %q", it.SelfLink, it.User.Link)
	}
	if it.StartTime != "2026-06-01T08:00:00.000+0000" {
		t.Fatalf("startTime = %q", it.StartTime)
	}
	if want := testStart.Add(1200 * time.Second).UnixMicro(); it.ExpirationMicros != want || it.LastUpdateMicros != testStart.UnixMicro() {
		t.Fatalf("expirationMicros %d lastUpdateMicros %d, want %d and %d", it.ExpirationMicros, it.LastUpdateMicros, want, testStart.UnixMicro())
	}
	if it.Address != "127.0.0.1" {
		t.Fatalf("address = %q", it.Address)
	}
	// The raw JSON carries the fields icontrol needs.
	var raw struct {
		Token map[string]any `json:"token"`
	}
	r.json(t, &raw)
	for _, k := range []string{"token", "lastUpdateMicros", "expirationMicros", "timeout", "startTime", "groupReferences"} {
		if _, ok := raw.Token[k]; !ok {
			t.Errorf("token object lacks %q", k)
		}
	}
}

func TestLoginAcceptsBasicAuthAsIcontrolSends(t *testing.T) {
	f := newFixture(t)
	body := `{"username":"automation","password":"` + DefaultPassword + `","loginProviderName":"tmos"}`
	r := f.do(http.MethodPost, loginPath, body, map[string]string{"basic": DefaultUser + ":" + DefaultPassword, "User-Agent": "python-requests/2.31.0 f5-icontrol-rest-python/1.3.13"})
	if r.status != http.StatusOK {
		t.Fatalf("login with Basic auth too: %d %s", r.status, r.body)
	}
	// Without loginProviderName, tmos is assumed.
	if _, r := f.login(DefaultUser, DefaultPassword, ""); r.status != http.StatusOK {
		t.Fatalf("login without provider: %d %s", r.status, r.body)
	}
}

func TestLoginFailures(t *testing.T) {
	f := newFixture(t)
	_, r := f.login(DefaultUser, "wrong-password-canary", "tmos")
	e := r.err(t)
	if r.status != 401 || e.Code != 401 || e.Message != "Authentication failed." || e.Kind != ":resterrorresponse" || e.Referer != "127.0.0.1" || e.RestOperationID == 0 {
		t.Fatalf("bad password: %d %+v", r.status, e)
	}
	if !strings.Contains(e.OriginalRequestBody, "wrong-password-canary") {
		t.Fatalf("BIG-IP echoes the login body in originalRequestBody; got %q", e.OriginalRequestBody)
	}
	if _, r := f.login("nobody", "x", "tmos"); r.status != 401 {
		t.Fatalf("unknown user: %d", r.status)
	}
	_, r = f.login(DefaultUser, DefaultPassword, "radius-nope")
	if r.status != 400 || r.err(t).Message != "Login provider radius-nope not found." {
		t.Fatalf("unknown provider: %d %s", r.status, r.body)
	}
	// The LDAP user exists only in its provider.
	if _, r := f.login(LDAPUser, LDAPPassword, "tmos"); r.status != 401 {
		t.Fatalf("ldap user via tmos: %d", r.status)
	}
	if lr, r := f.login(LDAPUser, LDAPPassword, LDAPProvider); r.status != 200 || lr.Token.AuthProviderName != LDAPProvider {
		t.Fatalf("ldap user via %s: %d %s", LDAPProvider, r.status, r.body)
	}
	if r := f.do(http.MethodPost, loginPath, "{not json", nil); r.status != 400 {
		t.Fatalf("malformed body: %d", r.status)
	}
	if r := f.do(http.MethodGet, loginPath, nil, nil); r.status != 405 {
		t.Fatalf("GET login: %d (a GET on login does not work on BIG-IP either)", r.status)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, nil)
	if e := r.err(t); r.status != 401 || !strings.HasPrefix(e.Message, "Authorization failed: no user authentication header or token detected. Uri:") {
		t.Fatalf("no credentials: %d %s", r.status, r.body)
	}
	r = f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, tok("AAAAAAAAAAAAAAAAAAAAAAAAAA"))
	if r.status != 401 || r.err(t).Message != "X-F5-Auth-Token does not exist." {
		t.Fatalf("unknown token: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, map[string]string{"basic": DefaultUser + ":" + DefaultPassword}); r.status != 200 {
		t.Fatalf("Basic auth: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, map[string]string{"basic": DefaultUser + ":nope"}); r.status != 401 {
		t.Fatalf("bad Basic auth: %d", r.status)
	}
	tk := f.mustLogin(DefaultUser, DefaultPassword)
	if r := f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, tok(tk)); r.status != 200 {
		t.Fatalf("token auth: %d %s", r.status, r.body)
	}
	f.sim.Clock().Advance(1200 * time.Second) // exactly at expiry: gone
	r = f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, tok(tk))
	if r.status != 401 || !strings.Contains(r.err(t).Message, "X-F5-Auth-Token does not exist") {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
	if f.sim.TokenValid(tk) || len(f.sim.Tokens(DefaultUser)) != 0 {
		t.Fatal("an expired token is still held")
	}
	r = f.do(http.MethodGet, "/mgmt/tm/nothing-here", nil, map[string]string{"basic": DefaultUser + ":" + DefaultPassword})
	if r.status != 404 || !strings.Contains(r.err(t).Message, "URI path /mgmt/tm/nothing-here not registered.") {
		t.Fatalf("unknown path: %d %s", r.status, r.body)
	}
}

func TestSysEndpointsForClientBootstrap(t *testing.T) {
	f := newFixture(t)
	tk := f.mustLogin(DefaultUser, DefaultPassword)
	for _, p := range []string{"/mgmt/tm/sys/", "/mgmt/tm/sys"} {
		r := f.do(http.MethodGet, p, nil, tok(tk))
		var c struct {
			Kind     string `json:"kind"`
			SelfLink string `json:"selfLink"`
		}
		r.json(t, &c)
		if r.status != 200 || c.Kind != "tm:sys:syscollectionstate" || !strings.HasSuffix(c.SelfLink, "?ver=17.1.1") {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	r := f.do(http.MethodGet, "/mgmt/tm/sys/version", nil, tok(tk))
	var v struct {
		Kind    string `json:"kind"`
		Entries map[string]struct {
			NestedStats struct {
				Entries map[string]struct {
					Description string `json:"description"`
				} `json:"entries"`
			} `json:"nestedStats"`
		} `json:"entries"`
	}
	r.json(t, &v)
	e := v.Entries["https://localhost/mgmt/tm/sys/version/0"].NestedStats.Entries
	if v.Kind != "tm:sys:version:versionstats" || e["Version"].Description != "17.1.1" || e["Product"].Description != "BIG-IP" || e["Build"].Description != "0.0.6" {
		t.Fatalf("version: %s", r.body)
	}
}

func TestTokenLimitPerUserAdminExempt(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < MaxTokensPerUser-1; i++ {
		if _, err := f.sim.IssueToken(DefaultUser); err != nil {
			t.Fatal(err)
		}
	}
	f.mustLogin(DefaultUser, DefaultPassword) // the 100th
	_, r := f.login(DefaultUser, DefaultPassword, "tmos")
	if r.status != 400 || r.err(t).Message != "Bad Request: user automation has reached maximum active login tokens" {
		t.Fatalf("101st login: %d %s", r.status, r.body)
	}
	if _, err := f.sim.IssueToken(DefaultUser); err == nil || !strings.Contains(err.Error(), "maximum active login tokens") {
		t.Fatalf("IssueToken past the limit: %v", err)
	}
	for i := 0; i < MaxTokensPerUser+5; i++ {
		if _, err := f.sim.IssueToken(AdminUser); err != nil {
			t.Fatalf("admin token %d: %v", i, err)
		}
	}
	f.mustLogin(AdminUser, AdminPassword)
	// Expired tokens do not count.
	f.sim.Clock().Advance(1201 * time.Second)
	f.mustLogin(DefaultUser, DefaultPassword)
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	a := f.mustLogin(DefaultUser, DefaultPassword)
	f.sim.Clock().Advance(time.Minute)
	b := f.mustLogin(DefaultUser, DefaultPassword)
	other := f.mustLogin(AdminUser, AdminPassword)

	var coll TokenCollection
	r := f.do(http.MethodGet, tokensPath, nil, tok(a))
	r.json(t, &coll)
	if r.status != 200 || coll.Kind != "shared:authz:tokens:authtokencollectionstate" || len(coll.Items) != 2 || coll.Items[0].Token != a || coll.Items[1].Token != b {
		t.Fatalf("collection: %d %s", r.status, r.body)
	}

	// Read one.
	var it TokenItem
	r = f.do(http.MethodGet, tokensPath+"/"+b, nil, tok(a))
	r.json(t, &it)
	if r.status != 200 || it.Token != b || it.StartTime != "2026-06-01T08:01:00.000+0000" {
		t.Fatalf("get: %d %s", r.status, r.body)
	}

	// Extend: measured from the start, capped at 36000.
	f.sim.Clock().Advance(time.Minute)
	r = f.do(http.MethodPatch, tokensPath+"/"+b, map[string]any{"timeout": 36000}, tok(a))
	r.json(t, &it)
	start := testStart.Add(time.Minute)
	if r.status != 200 || it.Timeout != 36000 || it.ExpirationMicros != start.Add(10*time.Hour).UnixMicro() || it.LastUpdateMicros != testStart.Add(2*time.Minute).UnixMicro() || it.Generation != 2 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = f.do(http.MethodPatch, tokensPath+"/"+b, map[string]any{"timeout": 36001}, tok(a))
	if r.status != 406 || r.err(t).Message != "Auth-token absolute timeout (36000 seconds) exceeded" {
		t.Fatalf("patch above max: %d %s", r.status, r.body)
	}
	for _, bad := range []any{0, -5, "soon"} {
		if r := f.do(http.MethodPatch, tokensPath+"/"+b, map[string]any{"timeout": bad}, tok(a)); r.status != 400 {
			t.Fatalf("patch timeout %v: %d", bad, r.status)
		}
	}
	// PUT, as f5-common-python's update sends the whole object, and a string timeout.
	r = f.do(http.MethodPut, tokensPath+"/"+b, map[string]any{"timeout": "3600", "user": map[string]string{"link": "https://localhost/mgmt/shared/authz/users/automation"}}, tok(a))
	r.json(t, &it)
	if r.status != 200 || it.Timeout != 3600 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}

	// Another user's token: 400 for every verb; not in the list.
	for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		var body any
		if m == http.MethodPatch {
			body = map[string]any{"timeout": 60}
		}
		r := f.do(m, tokensPath+"/"+other, body, tok(a))
		if r.status != 400 || !strings.Contains(r.err(t).Message, "may only access its own tokens") {
			t.Fatalf("%s another user's token: %d %s", m, r.status, r.body)
		}
	}
	if !f.sim.TokenValid(other) {
		t.Fatal("another user's token was harmed")
	}

	// Delete: 200 with the item, then gone.
	r = f.do(http.MethodDelete, tokensPath+"/"+b, nil, tok(a))
	r.json(t, &it)
	if r.status != 200 || it.Token != b || f.sim.TokenValid(b) {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	r = f.do(http.MethodGet, tokensPath+"/"+b, nil, tok(a))
	if r.status != 404 || !strings.HasPrefix(r.err(t).Message, "Object not found - ") {
		t.Fatalf("get deleted: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodDelete, tokensPath+"/"+b, nil, tok(a)); r.status != 404 {
		t.Fatalf("delete twice: %d", r.status)
	}

	// Shortening a token into the past ends it.
	r = f.do(http.MethodPatch, tokensPath+"/"+a, map[string]any{"timeout": 60}, tok(a))
	if r.status != 200 || f.sim.TokenValid(a) {
		t.Fatalf("patch into the past: %d, valid=%v", r.status, f.sim.TokenValid(a))
	}
}

func TestDeleteCollectionDeletesOnlyTheCallersTokens(t *testing.T) {
	f := newFixture(t)
	a := f.mustLogin(DefaultUser, DefaultPassword)
	f.mustLogin(DefaultUser, DefaultPassword)
	other := f.mustLogin(AdminUser, AdminPassword)
	r := f.do(http.MethodDelete, tokensPath+"?options=*", nil, tok(a))
	if r.status != 200 || len(f.sim.Tokens(DefaultUser)) != 0 || !f.sim.TokenValid(other) {
		t.Fatalf("delete collection: %d %s; left %v", r.status, r.body, f.sim.Tokens(""))
	}
}

func TestRecorderCountsLoginAndLogoutAsReads(t *testing.T) {
	f := newFixture(t)
	a := f.mustLogin(DefaultUser, DefaultPassword)
	b := f.mustLogin(DefaultUser, DefaultPassword)
	if w := f.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("logins counted as %d writes", w)
	}
	f.do(http.MethodPatch, tokensPath+"/"+b, map[string]any{"timeout": 60}, tok(a))
	f.do(http.MethodDelete, tokensPath+"/"+b, nil, tok(a)) // revoking another token: a write
	if w := f.sim.Recorder().Writes(); w != 2 {
		t.Fatalf("writes = %d, want 2", w)
	}
	f.do(http.MethodDelete, tokensPath+"/"+a, nil, tok(a)) // logout
	if w := f.sim.Recorder().Writes(); w != 2 {
		t.Fatalf("a logout counted as a write (%d)", w)
	}
}

func TestConcurrentLoginsRespectTheLimit(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < MaxTokensPerUser-10; i++ {
		if _, err := f.sim.IssueToken(DefaultUser); err != nil {
			t.Fatal(err)
		}
	}
	results := make(chan int, 30)
	for i := 0; i < 30; i++ {
		go func() {
			body := fmt.Sprintf(`{"username":%q,"password":%q}`, DefaultUser, DefaultPassword)
			req, _ := http.NewRequest(http.MethodPost, f.url+loginPath, strings.NewReader(body))
			resp, err := f.client.Do(req)
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	ok := 0
	for i := 0; i < 30; i++ {
		if <-results == 200 {
			ok++
		}
	}
	if ok != 10 || len(f.sim.Tokens(DefaultUser)) != MaxTokensPerUser {
		t.Fatalf("%d logins succeeded, %d tokens held; want 10 and %d", ok, len(f.sim.Tokens(DefaultUser)), MaxTokensPerUser)
	}
}
