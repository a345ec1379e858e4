package sim

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var testStart = time.Date(2026, time.June, 1, 8, 0, 0, 0, time.UTC)

// fixture is a simulator served over TLS with a generated CA, and a plain net/http client
// that sends what the hx-api-token-manager client sends.
type fixture struct {
	t      *testing.T
	sim    *Sim
	clock  *simkit.Clock
	url    string
	client *http.Client
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clock := simkit.NewClock(testStart)
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	s := New(cfg)
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("simulator URL %s is not https", srv.URL)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	return &fixture{t: t, sim: s, clock: cfg.Clock, url: srv.URL, client: &http.Client{Transport: tr}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %d %s: %v", r.status, r.body, err)
	}
	return m
}

// post sends a POST with a JSON body and "Content-Type: application/json", like the client.
func (f *fixture) post(pathQuery string, body any) response {
	f.t.Helper()
	b, _ := json.Marshal(body)
	return f.send(http.MethodPost, pathQuery, "application/json", "", b)
}

func (f *fixture) send(method, pathQuery, ctype, auth string, body []byte) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+pathQuery, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, data}
}

func (f *fixture) login(user, pass string) tokenPair {
	f.t.Helper()
	r := f.post(AuthPath+"?grant_type=password", map[string]string{
		"username": user, "password": pass,
		"client_id": ClientID, "client_secret": ClientSecret, "redirect_uri": RedirectURI,
	})
	if r.status != http.StatusCreated {
		f.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	var p tokenPair
	if err := json.Unmarshal(r.body, &p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) validate(access, scope string) int {
	f.t.Helper()
	return f.post(ValidatePath, map[string]string{"access_token": access, "scope": scope, "token_type": "Bearer"}).status
}

func (f *fixture) refresh(p tokenPair) response {
	f.t.Helper()
	return f.post(TokenPath+"?grant_type=refresh", p)
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestLoginAnswersTheClientShape(t *testing.T) {
	f := newFixture(t, Config{})
	r := f.post(AuthPath+"?grant_type=password", map[string]string{
		"username": DefaultUser, "password": DefaultPassword,
		"client_id": ClientID, "client_secret": ClientSecret, "redirect_uri": RedirectURI,
	})
	if r.status != http.StatusCreated {
		t.Fatalf("status %d %s, want 201", r.status, r.body)
	}
	m := r.json(t)
	if len(m) != 3 || m["token_type"] != "Bearer" {
		t.Fatalf("body %s: want exactly access_token, refresh_token, token_type=Bearer", r.body)
	}
	if !hex64.MatchString(m["refresh_token"].(string)) {
		t.Fatalf("refresh_token %q is not 64 hex characters", m["refresh_token"])
	}
	access := m["access_token"].(string)
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %q", access)
	}
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(header) != `{"alg":"HS256"}` {
		t.Fatalf("JWT header %s", header)
	}
	c, ok := f.sim.VerifyToken(access)
	if !ok {
		t.Fatal("signature does not verify")
	}
	if c.Sub != "users/admin" || c.User != "admin" || c.Scope != "READ,MODIFY" || c.Iss != Issuer || c.Token != "1" {
		t.Fatalf("claims %+v", c)
	}
	if c.IssuedAt != testStart.UnixMilli() || c.Exp != testStart.Add(18*24*time.Hour).Unix() {
		t.Fatalf("issuedAt %d exp %d: want now and now+18d", c.IssuedAt, c.Exp)
	}
	if c.TokenLifeTime != 1555200000 || c.IdleTimeout != 1800000 {
		t.Fatalf("tokenLifeTime %d idleTimeout %d, want 1555200000 and 1800000", c.TokenLifeTime, c.IdleTimeout)
	}
	if c.Exp*1000-c.IssuedAt != c.TokenLifeTime {
		t.Fatal("exp - issuedAt is not tokenLifeTime")
	}
	if got := f.validate(access, "READ"); got != http.StatusOK {
		t.Fatalf("validate fresh token: %d", got)
	}
	if got := f.validate(access, "MODIFY"); got != http.StatusOK {
		t.Fatalf("validate MODIFY for admin: %d", got)
	}
}

func TestLoginErrors(t *testing.T) {
	f := newFixture(t, Config{AuthRateLimit: -1})
	good := map[string]string{
		"username": DefaultUser, "password": DefaultPassword,
		"client_id": ClientID, "client_secret": ClientSecret, "redirect_uri": RedirectURI,
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	body, _ := json.Marshal(good)
	for _, tc := range []struct {
		name string
		got  response
		want int
	}{
		{"wrong password", f.post(AuthPath+"?grant_type=password", with("password", "nope")), 401},
		{"unknown user", f.post(AuthPath+"?grant_type=password", with("username", "nobody")), 401},
		{"other client", f.post(AuthPath+"?grant_type=password", with("client_secret", "Milpitas")), 401},
		{"no grant_type", f.post(AuthPath, good), 400},
		{"wrong grant_type", f.post(AuthPath+"?grant_type=refresh", good), 400},
		{"no content type", f.send(http.MethodPost, AuthPath+"?grant_type=password", "", "", body), 415},
		{"form body", f.send(http.MethodPost, AuthPath+"?grant_type=password", "application/x-www-form-urlencoded", "", []byte("username=admin")), 415},
		{"bad json", f.send(http.MethodPost, AuthPath+"?grant_type=password", "application/json", "", []byte("{")), 400},
		{"GET", f.send(http.MethodGet, AuthPath, "", "", nil), 405},
	} {
		if tc.got.status != tc.want {
			t.Errorf("%s: got %d %s, want %d", tc.name, tc.got.status, tc.got.body, tc.want)
		}
	}
	if r := f.post(AuthPath+"?grant_type=password", with("password", "nope")); !strings.Contains(string(r.body), "message") || strings.Contains(string(r.body), "nope") {
		t.Fatalf("error body %s", r.body)
	}
	if n := len(f.sim.Sessions()); n != 0 {
		t.Fatalf("%d sessions after failed logins", n)
	}
}

func TestRefreshRotatesAndInvalidatesTheOldPair(t *testing.T) {
	f := newFixture(t, Config{})
	old := f.login(DefaultUser, DefaultPassword)
	r := f.refresh(old)
	if r.status != http.StatusCreated {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	var neu tokenPair
	json.Unmarshal(r.body, &neu)
	if neu.AccessToken == old.AccessToken || neu.RefreshToken == old.RefreshToken || neu.TokenType != "Bearer" || !hex64.MatchString(neu.RefreshToken) {
		t.Fatalf("refresh did not rotate both tokens: %+v", neu)
	}
	oc, _ := f.sim.VerifyToken(old.AccessToken)
	nc, ok := f.sim.VerifyToken(neu.AccessToken)
	if !ok || nc.Token != oc.Token {
		t.Fatalf("token claim changed across refresh: %q -> %q", oc.Token, nc.Token)
	}
	if got := f.validate(old.AccessToken, "READ"); got != http.StatusUnauthorized {
		t.Fatalf("old access token still validates: %d", got)
	}
	if got := f.refresh(old).status; got != http.StatusUnauthorized {
		t.Fatalf("old pair refreshed again: %d", got)
	}
	if got := f.validate(neu.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("new access token: %d", got)
	}
	// A refresh token with an access token of another pair is refused.
	other := f.login(DefaultUser, DefaultPassword)
	if got := f.refresh(tokenPair{AccessToken: other.AccessToken, RefreshToken: neu.RefreshToken, TokenType: "Bearer"}).status; got != http.StatusUnauthorized {
		t.Fatalf("mixed pair: %d", got)
	}
	if got := f.post(TokenPath, neu).status; got != http.StatusBadRequest {
		t.Fatalf("refresh without grant_type: %d", got)
	}
}

func TestExpiryIdleTimeoutAndRefreshAfterExpiry(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(DefaultUser, DefaultPassword)
	f.clock.Advance(29 * time.Minute)
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("29 minutes idle: %d", got)
	}
	f.clock.Advance(29 * time.Minute) // 58 minutes old, 29 idle
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("used 29 minutes ago: %d", got)
	}
	f.clock.Advance(31 * time.Minute)
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusUnauthorized {
		t.Fatalf("idle 31 minutes: %d, want 401", got)
	}
	f.clock.Advance(18 * 24 * time.Hour)
	if f.sim.AccessTokenValid(p.AccessToken, "READ") {
		t.Fatal("expired token valid")
	}
	r := f.refresh(p)
	if r.status != http.StatusCreated {
		t.Fatalf("refresh of an expired pair: %d %s", r.status, r.body)
	}
	var neu tokenPair
	json.Unmarshal(r.body, &neu)
	if got := f.validate(neu.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("refreshed token: %d", got)
	}
}

func TestIdleTimeoutCanBeDisabled(t *testing.T) {
	f := newFixture(t, Config{IdleTimeout: -1})
	p := f.login(DefaultUser, DefaultPassword)
	f.clock.Advance(17 * 24 * time.Hour)
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("17 days, idle timeout off: %d", got)
	}
	f.clock.Advance(24 * time.Hour)
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusUnauthorized {
		t.Fatalf("18 days: %d", got)
	}
}

func TestValidateScope(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(ReadOnlyUser, ReadOnlyPassword)
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("READ: %d", got)
	}
	if got := f.validate(p.AccessToken, "MODIFY"); got != http.StatusForbidden {
		t.Fatalf("MODIFY for a read-only user: %d, want 403", got)
	}
	if got := f.validate(p.AccessToken, "WRITE"); got != http.StatusBadRequest {
		t.Fatalf("scope WRITE: %d, want 400", got)
	}
	if got := f.validate("not-a-token", "READ"); got != http.StatusUnauthorized {
		t.Fatalf("garbage token: %d", got)
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(DefaultUser, DefaultPassword)
	r := f.post(RevokePath, p)
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "{}" {
		t.Fatalf("revoke: %d %s, want 200 {}", r.status, r.body)
	}
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusUnauthorized {
		t.Fatalf("revoked token validates: %d", got)
	}
	if got := f.refresh(p).status; got != http.StatusUnauthorized {
		t.Fatalf("revoked pair refreshes: %d", got)
	}
	if got := f.post(RevokePath, p).status; got != http.StatusUnauthorized {
		t.Fatalf("second revoke: %d", got)
	}
	q := f.login(DefaultUser, DefaultPassword)
	if !f.sim.RevokeSession(q.RefreshToken) || f.sim.RefreshTokenValid(q.RefreshToken) || f.sim.AccessTokenValid(q.AccessToken, "READ") {
		t.Fatal("RevokeSession did not revoke")
	}
	f.login(DefaultUser, DefaultPassword)
	f.login(ReadOnlyUser, ReadOnlyPassword)
	if n := f.sim.RevokeUser(DefaultUser); n != 1 {
		t.Fatalf("RevokeUser revoked %d sessions, want 1", n)
	}
	if s := f.sim.Sessions(); len(s) != 1 || s[0].User != ReadOnlyUser {
		t.Fatalf("sessions left: %+v", s)
	}
}

func TestAuthRateLimit(t *testing.T) {
	f := newFixture(t, Config{AuthRateLimit: 2, AuthRateWindow: 15 * time.Minute})
	f.login(DefaultUser, DefaultPassword)
	f.clock.Advance(5 * time.Minute)
	// A failed login counts too.
	bad := f.post(AuthPath+"?grant_type=password", map[string]string{"username": DefaultUser, "password": "x", "client_id": ClientID, "client_secret": ClientSecret})
	if bad.status != http.StatusUnauthorized {
		t.Fatalf("bad login: %d", bad.status)
	}
	for i := 0; i < 3; i++ {
		r := f.post(AuthPath+"?grant_type=password", map[string]string{"username": DefaultUser, "password": DefaultPassword, "client_id": ClientID, "client_secret": ClientSecret})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("login over the limit: %d", r.status)
		}
		if ra := r.header.Get("Retry-After"); ra != "600" {
			t.Fatalf("Retry-After %q, want 600 (the first login leaves the window in 10 minutes)", ra)
		}
		if !strings.Contains(r.json(t)["message"].(string), "Too many") {
			t.Fatalf("429 body %s", r.body)
		}
	}
	// Validate, refresh and revoke are not limited.
	p := f.sim.Sessions()[0]
	if got := f.validate(p.AccessToken, "READ"); got != http.StatusOK {
		t.Fatalf("validate while auth is limited: %d", got)
	}
	f.clock.Advance(10 * time.Minute)
	f.login(DefaultUser, DefaultPassword) // the first slot freed; 429s did not count
	f.sim.SetAuthRateLimit(-1, 0)
	for i := 0; i < 5; i++ {
		f.login(DefaultUser, DefaultPassword)
	}
}

func TestRESTCallsWithTheBearerToken(t *testing.T) {
	f := newFixture(t, Config{})
	if got := f.send(http.MethodGet, ClustersPath, "", "", nil).status; got != http.StatusUnauthorized {
		t.Fatalf("clusters without a token: %d", got)
	}
	p := f.login(DefaultUser, DefaultPassword)
	r := f.send(http.MethodGet, ClustersPath, "", "Bearer "+p.AccessToken, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), Cluster.UUID) {
		t.Fatalf("clusters: %d %s", r.status, r.body)
	}
	r = f.send(http.MethodGet, ClustersPath+"/"+Cluster.UUID+"/about", "", "Bearer "+p.AccessToken, nil)
	if r.status != http.StatusOK || r.json(t)["displayVersion"] != Cluster.DisplayVersion {
		t.Fatalf("about: %d %s", r.status, r.body)
	}
	f.clock.Advance(20 * time.Minute)
	f.send(http.MethodGet, ClustersPath, "", "Bearer "+p.AccessToken, nil)
	f.clock.Advance(20 * time.Minute) // 40 minutes old, used 20 minutes ago
	if !f.sim.AccessTokenValid(p.AccessToken, "READ") {
		t.Fatal("an API call did not count as activity")
	}
}

func TestRecorderCountsValidateAsRead(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(DefaultUser, DefaultPassword)
	f.validate(p.AccessToken, "READ")
	f.validate(p.AccessToken, "READ")
	if w := f.sim.Recorder().Writes(); w != 1 {
		t.Fatalf("writes = %d, want 1 (the login)", w)
	}
	if n := f.sim.Recorder().Count(http.MethodPost, AuthPath); n != 1 {
		t.Fatalf("auth count = %d", n)
	}
}

func TestVerifyTokenRejectsTampering(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(DefaultUser, DefaultPassword)
	parts := strings.Split(p.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"READ,MODIFY"`), []byte(`"READ,MODIFY,ROOT"`), 1)) + "." + parts[2]
	if _, ok := f.sim.VerifyToken(forged); ok {
		t.Fatal("forged token verifies")
	}
	if got := f.validate(forged, "READ"); got != http.StatusUnauthorized {
		t.Fatalf("forged token validates: %d", got)
	}
}
