package ops_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/hyperflex/ops"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

type fixture struct {
	t    *testing.T
	sim  *sim.Sim
	h    *sdktest.Harness
	conn map[string]any
}

func newFixture(t *testing.T, cfg sim.Config) *fixture {
	t.Helper()
	cfg.Clock = simkit.NewClock(start)
	s := sim.New(cfg)
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h := sdktest.New(t, ops.Plugin(), srv.Client().Transport)
	return &fixture{t: t, sim: s, h: h, conn: map[string]any{"url": srv.URL}}
}

func (f *fixture) call(op string, args map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.h.Call(op, f.conn, args)
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (f *fixture) obtain() map[string]any {
	f.t.Helper()
	return f.call("obtain_token", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})
}

// callErr runs an op that must fail and returns its *sdk.Error.
func (f *fixture) callErr(op string, args map[string]any) *sdk.Error {
	f.t.Helper()
	out, err := f.h.Call(op, f.conn, args)
	var e *sdk.Error
	if !errors.As(err, &e) {
		f.t.Fatalf("%s: got %v, %v; want an *sdk.Error", op, out, err)
	}
	return e
}

func pair(m map[string]any) map[string]any {
	return map[string]any{"access_token": m["access_token"], "refresh_token": m["refresh_token"]}
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, err := v.(json.Number).Int64()
	if err != nil {
		t.Fatalf("%v is not an int", v)
	}
	return n
}

func TestPluginDeclaration(t *testing.T) {
	p := ops.Plugin()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	effects := map[string]sdk.Effect{
		"obtain_token": sdk.Write, "refresh_token": sdk.Write, "revoke_token": sdk.Write,
		"validate_token": sdk.Read, "decode_token": sdk.Read, "encode_token_file": sdk.Read, "decode_token_file": sdk.Read,
		"get": sdk.Read, "request": sdk.Write,
	}
	for _, op := range p.Ops {
		if effects[op.Name] != op.Effect {
			t.Errorf("%s: effect %s, want %s", op.Name, op.Effect, effects[op.Name])
		}
		delete(effects, op.Name)
		for _, f := range op.Params {
			if strings.Contains(f.Name, "password") || strings.HasSuffix(f.Name, "_token") || f.Name == "content" {
				if !f.IsSecret() {
					t.Errorf("%s: parameter %s is not secret", op.Name, f.Name)
				}
			}
		}
	}
	if len(effects) != 0 {
		t.Errorf("ops missing: %v", effects)
	}
}

func TestObtainSendsWhatTheVendorsClientSends(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tok := f.obtain()
	ex := f.h.Exchanges()
	if len(ex) != 1 {
		t.Fatalf("%d exchanges, want 1", len(ex))
	}
	u, _ := url.Parse(ex[0].URL)
	if ex[0].Method != http.MethodPost || u.Path != "/aaa/v1/auth" || u.RawQuery != "grant_type=password" || ex[0].Status != http.StatusCreated {
		t.Fatalf("request %s %s -> %d", ex[0].Method, ex[0].URL, ex[0].Status)
	}
	if ct := ex[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if a := ex[0].Header.Get("Authorization"); a != "" {
		t.Fatalf("login sent an Authorization header")
	}
	var body map[string]string
	if err := json.Unmarshal(ex[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"username": sim.DefaultUser, "password": sim.DefaultPassword,
		"client_id": "HxGuiClient", "client_secret": "Sunnyvale", "redirect_uri": "http://localhost:8080/aaa/redirect",
	}
	if len(body) != len(want) {
		t.Fatalf("body fields %v", body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body %s = %q, want %q", k, body[k], v)
		}
	}
	if !f.sim.AccessTokenValid(tok["access_token"].(string), "MODIFY") || !f.sim.RefreshTokenValid(tok["refresh_token"].(string)) {
		t.Fatal("the obtained pair is not live on the simulator")
	}
	if tok["token_type"] != "Bearer" {
		t.Fatalf("token_type %v", tok["token_type"])
	}
	if tok["issued_at"] != start.Format(time.RFC3339Nano) || tok["expires_at"] != start.Add(18*24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("issued_at %v expires_at %v", tok["issued_at"], tok["expires_at"])
	}
}

func TestDecodeTokenReadsTheClaims(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tok := f.obtain()
	f.h.Reset()
	c := f.call("decode_token", map[string]any{"access_token": tok["access_token"]})
	if n := len(f.h.Exchanges()); n != 0 {
		t.Fatalf("decode_token sent %d requests", n)
	}
	want := map[string]any{
		"user": "admin", "subject": "users/admin", "issuer": sim.Issuer, "session": "1",
		"issued_at": start.Format(time.RFC3339Nano), "expires_at": start.Add(18 * 24 * time.Hour).Format(time.RFC3339),
		"token_lifetime": "432h0m0s", "idle_timeout": "30m0s", "warn_idle_timeout": "25m0s",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if s, _ := c["scope"].([]any); len(s) != 2 || s[0] != "READ" || s[1] != "MODIFY" {
		t.Errorf("scope = %v", c["scope"])
	}
	// The same claims survive a refresh, with a new issue time.
	f.sim.Clock().Advance(time.Hour)
	neu := f.call("refresh_token", pair(tok))
	c2 := f.call("decode_token", map[string]any{"access_token": neu["access_token"]})
	if c2["session"] != "1" || c2["issued_at"] != start.Add(time.Hour).Format(time.RFC3339Nano) {
		t.Fatalf("after refresh: %v", c2)
	}
}

func TestDecodeTokenRefusesWhatIsNotAJWT(t *testing.T) {
	f := newFixture(t, sim.Config{})
	for _, bad := range []string{"canary-9f8e7d6c5b4a", "a.b", "aGVsbG8.!!!.c2ln", "eyJhbGciOiJIUzI1NiJ9.WzFd.c2ln"} {
		e := f.callErr("decode_token", map[string]any{"access_token": bad})
		if e.Code != sdk.CodeInvalidArgument || e.Param != "access_token" || !strings.Contains(e.Message, "not a JWT") {
			t.Errorf("%q: %v", bad, e)
		}
		if strings.Contains(e.Error(), bad) {
			t.Errorf("the error quotes the token: %v", e)
		}
	}
}

func TestBadPasswordIsUnauthenticatedAndNotQuoted(t *testing.T) {
	f := newFixture(t, sim.Config{})
	const canary = "canary-Pa55word-31337"
	e := f.callErr("obtain_token", map[string]any{"username": "admin", "password": canary})
	if e.Code != sdk.CodeUnauthenticated || !strings.Contains(e.Message, `"admin"`) || e.Retryable {
		t.Fatalf("got %v", e)
	}
	if strings.Contains(e.Error(), canary) {
		t.Fatal("the error quotes the password")
	}
	e = f.callErr("obtain_token", map[string]any{"username": "admin", "password": ""})
	if e.Code != sdk.CodeInvalidArgument || e.Param != "password" {
		t.Fatalf("empty password: %v", e)
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tok := f.obtain()
	at := tok["access_token"]
	v := f.call("validate_token", map[string]any{"access_token": at})
	if v["valid"] != true || num(t, v["status"]) != 200 {
		t.Fatalf("fresh token: %v", v)
	}
	ex := f.h.Exchanges()
	last := ex[len(ex)-1]
	var body map[string]string
	json.Unmarshal(last.Body, &body)
	if !strings.HasSuffix(last.URL, "/aaa/v1/validate") || body["scope"] != "READ" || body["token_type"] != "Bearer" || body["access_token"] != at || len(body) != 3 {
		t.Fatalf("validate request %s %s", last.URL, last.Body)
	}

	ro := f.call("obtain_token", map[string]any{"username": sim.ReadOnlyUser, "password": sim.ReadOnlyPassword})
	v = f.call("validate_token", map[string]any{"access_token": ro["access_token"], "scope": "MODIFY"})
	if v["valid"] != false || num(t, v["status"]) != 403 {
		t.Fatalf("read-only token for MODIFY: %v", v)
	}
	v = f.call("validate_token", map[string]any{"access_token": "garbage"})
	if v["valid"] != false || num(t, v["status"]) != 401 {
		t.Fatalf("garbage token: %v", v)
	}

	f.h.Reset()
	e := f.callErr("validate_token", map[string]any{"access_token": at, "scope": "WRITE"})
	if e.Code != sdk.CodeInvalidArgument || e.Param != "scope" || len(f.h.Exchanges()) != 0 {
		t.Fatalf("scope WRITE: %v (%d requests)", e, len(f.h.Exchanges()))
	}

	// A cluster that cannot answer says nothing about the token: an error, not valid=False.
	f.sim.Faults().Add(simkit.Fault{PathPrefix: "/aaa/v1/validate", Status: http.StatusServiceUnavailable, Times: 1})
	if e := f.callErr("validate_token", map[string]any{"access_token": at}); e.Code != sdk.CodeUnavailable {
		t.Fatalf("503: %v", e)
	}
	f.sim.Faults().Add(simkit.Fault{PathPrefix: "/aaa/v1/validate", Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second, Times: 1})
	if e := f.callErr("validate_token", map[string]any{"access_token": at}); e.Code != sdk.CodeRateLimited || !strings.Contains(e.Message, "in 30s") {
		t.Fatalf("429: %v", e)
	}

	f.sim.Clock().Advance(19 * 24 * time.Hour)
	v = f.call("validate_token", map[string]any{"access_token": at})
	if v["valid"] != false || num(t, v["status"]) != 401 {
		t.Fatalf("expired token: %v", v)
	}
}

func TestRefreshRotatesThePair(t *testing.T) {
	f := newFixture(t, sim.Config{})
	old := f.obtain()
	f.h.Reset()
	neu := f.call("refresh_token", pair(old))
	ex := f.h.Exchanges()
	u, _ := url.Parse(ex[0].URL)
	var body map[string]string
	json.Unmarshal(ex[0].Body, &body)
	if u.Path != "/aaa/v1/token" || u.RawQuery != "grant_type=refresh" || ex[0].Status != 201 ||
		body["access_token"] != old["access_token"] || body["refresh_token"] != old["refresh_token"] || body["token_type"] != "Bearer" || len(body) != 3 {
		t.Fatalf("refresh request %s %s -> %d", ex[0].URL, ex[0].Body, ex[0].Status)
	}
	if neu["refreshed"] != true || num(t, neu["status"]) != 201 || neu["access_token"] == old["access_token"] || neu["refresh_token"] == old["refresh_token"] {
		t.Fatalf("refresh result %v", neu)
	}
	if f.sim.AccessTokenValid(old["access_token"].(string), "READ") || !f.sim.AccessTokenValid(neu["access_token"].(string), "READ") {
		t.Fatal("the simulator does not hold the new pair alone")
	}
	e := f.callErr("refresh_token", pair(old))
	if e.Code != sdk.CodeUnauthenticated || !strings.Contains(e.Message, "rejected the token pair") {
		t.Fatalf("refreshing the old pair: %v", e)
	}
	args := pair(old)
	args["rejected_ok"] = true
	r := f.call("refresh_token", args)
	if r["refreshed"] != false || num(t, r["status"]) != 401 || r["access_token"] != nil {
		t.Fatalf("rejected_ok: %v", r)
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tok := f.obtain()
	r := f.call("revoke_token", pair(tok))
	if r["revoked"] != true || num(t, r["status"]) != 200 {
		t.Fatalf("revoke: %v", r)
	}
	if f.sim.RefreshTokenValid(tok["refresh_token"].(string)) {
		t.Fatal("the pair is still live")
	}
	if e := f.callErr("revoke_token", pair(tok)); e.Code != sdk.CodeUnauthenticated {
		t.Fatalf("second revoke: %v", e)
	}
	args := pair(tok)
	args["rejected_ok"] = true
	if r := f.call("revoke_token", args); r["revoked"] != false || num(t, r["status"]) != 401 {
		t.Fatalf("second revoke with rejected_ok: %v", r)
	}
}

func TestRateLimitedLoginIsAClearError(t *testing.T) {
	f := newFixture(t, sim.Config{AuthRateLimit: 1, AuthRateWindow: 15 * time.Minute})
	f.obtain()
	e := f.callErr("obtain_token", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})
	if e.Code != sdk.CodeRateLimited || !e.Retryable || !strings.Contains(e.Message, "rate limit") || !strings.Contains(e.Message, "try again in 15m0s") {
		t.Fatalf("got %v", e)
	}
	if n := f.sim.Recorder().Count(http.MethodPost, sim.AuthPath); n != 2 {
		t.Fatalf("%d login requests, want 2 (the plugin itself never retries)", n)
	}
}

func TestObtainWantsExactly201(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.sim.Faults().Add(simkit.Fault{PathPrefix: sim.AuthPath, Status: http.StatusOK, Body: `{"access_token":"a.b.c","refresh_token":"r","token_type":"Bearer"}`, Times: 1})
	e := f.callErr("obtain_token", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})
	if !strings.Contains(e.Message, "unexpected HTTP 200") {
		t.Fatalf("got %v", e)
	}
	f.sim.Faults().Add(simkit.Fault{PathPrefix: sim.AuthPath, Status: http.StatusCreated, Body: `{"token_type":"Bearer"}`, Times: 1})
	if e := f.callErr("obtain_token", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword}); !strings.Contains(e.Message, "no access_token") {
		t.Fatalf("got %v", e)
	}
}

func TestDryRunHoldsLoginRefreshAndRevokeButValidates(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tok := f.obtain()
	f.sim.Recorder().Reset()
	f.h.DryRun = true
	if _, err := f.h.Call("obtain_token", f.conn, map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword}); !errors.Is(err, sdktest.Held) {
		t.Fatalf("obtain: %v, want held", err)
	}
	if _, err := f.h.Call("refresh_token", f.conn, pair(tok)); !errors.Is(err, sdktest.Held) {
		t.Fatalf("refresh: %v, want held", err)
	}
	if _, err := f.h.Call("revoke_token", f.conn, pair(tok)); !errors.Is(err, sdktest.Held) {
		t.Fatalf("revoke: %v, want held", err)
	}
	v := f.call("validate_token", map[string]any{"access_token": tok["access_token"]})
	if v["valid"] != true {
		t.Fatalf("validate in a dry-run: %v", v)
	}
	if w := f.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("the simulator saw %d writes in a dry-run", w)
	}
	if n := f.sim.Recorder().Count("", "/aaa/v1/validate"); n != 1 {
		t.Fatalf("validate sent %d times", n)
	}
}
