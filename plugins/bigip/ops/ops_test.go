package ops_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/bigip/ops"
	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

const (
	loginPath  = "/mgmt/shared/authn/login"
	tokensPath = "/mgmt/shared/authz/tokens"
)

var start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	sim    *sim.Sim
	h      *sdktest.Harness
	conn   map[string]any
	client *http.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := sim.New(sim.Config{Clock: simkit.NewClock(start)})
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
	return &fixture{t: t, sim: s, h: h, client: srv.Client(), conn: map[string]any{"url": srv.URL, "username": sim.DefaultUser, "password": sim.DefaultPassword}}
}

func (f *fixture) call(op string, args map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.h.Call(op, f.conn, args)
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (f *fixture) logins() int { return f.sim.Recorder().Count(http.MethodPost, loginPath) }

func (f *fixture) issue(user string, n int) []string {
	f.t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		tok, err := f.sim.IssueToken(user)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, tok)
	}
	return out
}

func sdkErr(t *testing.T, err error, code sdk.Code) *sdk.Error {
	t.Helper()
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got %v, want a %s error", err, code)
	}
	return e
}

func tokens(out map[string]any) []map[string]any {
	var l []map[string]any
	for _, x := range out["tokens"].([]any) {
		l = append(l, x.(map[string]any))
	}
	return l
}

func TestPluginDeclaration(t *testing.T) {
	if err := ops.Plugin().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoginReturnsANewTokenThatIsNotTheSession(t *testing.T) {
	f := newFixture(t)
	out := f.call("login", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})
	tok, _ := out["token"].(string)
	if !f.sim.TokenValid(tok) {
		t.Fatalf("login token not live on the simulator: %v", out)
	}
	if out["user"] != sim.DefaultUser || out["login_provider"] != "tmos" || out["timeout"] != int64(1200) {
		t.Fatalf("login = %v", out)
	}
	if out["start_time"] != "2026-06-01T08:00:00Z" || out["expires_at"] != "2026-06-01T08:20:00Z" || out["current"] != false {
		t.Fatalf("login times = %v", out)
	}
	// The connection logs in separately for its own calls; the login op's
	// token is the flow's, not the session's.
	list := tokens(f.call("list_tokens", nil))
	if len(list) != 2 {
		t.Fatalf("list = %v", list)
	}
	for _, it := range list {
		if (it["token"] == tok) == it["current"].(bool) {
			t.Fatalf("current flag wrong: %v", list)
		}
	}
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if !f.sim.TokenValid(tok) || len(f.sim.Tokens(sim.DefaultUser)) != 1 {
		t.Fatalf("closing the connection must delete only its session token; left %v", f.sim.Tokens(sim.DefaultUser))
	}
}

func TestLoginOtherProvider(t *testing.T) {
	f := newFixture(t)
	_, err := f.h.Call("login", f.conn, map[string]any{"username": sim.LDAPUser, "password": sim.LDAPPassword})
	sdkErr(t, err, sdk.CodeUnauthenticated)
	out := f.call("login", map[string]any{"username": sim.LDAPUser, "password": sim.LDAPPassword, "login_provider": sim.LDAPProvider})
	if out["login_provider"] != sim.LDAPProvider || out["user"] != sim.LDAPUser {
		t.Fatalf("login = %v", out)
	}
	// The connection's own provider.
	f.conn = map[string]any{"url": f.conn["url"], "username": sim.LDAPUser, "password": sim.LDAPPassword, "login_provider": sim.LDAPProvider}
	if n := f.call("list_tokens", nil)["count"]; n != int64(2) {
		t.Fatalf("ldap user's tokens = %s", n)
	}
}

func TestOneLoginPerConnectionAndLogoutAtClose(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		f.call("list_tokens", nil)
	}
	f.call("version", nil)
	if n := f.logins(); n != 1 {
		t.Fatalf("login sent %d times, want 1", n)
	}
	session := f.sim.Tokens(sim.DefaultUser)
	if len(session) != 1 {
		t.Fatalf("tokens = %v", session)
	}
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Recorder().Count(http.MethodDelete, tokensPath+"/"+session[0].Token); n != 1 {
		t.Fatalf("session token deleted %d times at close, want 1", n)
	}
	if len(f.sim.Tokens(sim.DefaultUser)) != 0 {
		t.Fatal("the session token outlived the connection")
	}
	for _, ex := range f.h.Exchanges() {
		if ex.Method == http.MethodDelete && !ex.Session {
			t.Fatal("the logout is not marked as a session request")
		}
		if ex.Method == http.MethodPost && strings.HasSuffix(ex.URL, loginPath) && !ex.Session {
			t.Fatal("the connection's login is not marked as a session request")
		}
	}
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func() {
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.h.Call("list_tokens", f.conn, nil); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
	}
	run()
	if n := f.logins(); n != 1 {
		t.Fatalf("8 concurrent calls logged in %d times, want 1", n)
	}
	f.sim.Clock().Advance(21 * time.Minute) // the session token expired
	run()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := f.logins(); n != 2 {
		t.Fatalf("after expiry, 8 concurrent calls logged in %d more times, want 1", n-1)
	}
}

func TestReloginExactlyOnceWhenTheTokenDoesNotExist(t *testing.T) {
	f := newFixture(t)
	f.call("list_tokens", nil)
	f.sim.Clock().Advance(21 * time.Minute)
	f.call("list_tokens", nil)
	if n := f.logins(); n != 2 {
		t.Fatalf("login sent %d times, want 2 (one re-login)", n)
	}

	// A BIG-IP that keeps saying the token does not exist gets one more
	// login, not a storm.
	f.sim.Faults().Add(simkit.Fault{PathPrefix: tokensPath, Status: 401, Body: `{"code":401,"message":"X-F5-Auth-Token does not exist.","referer":"127.0.0.1","restOperationId":1,"kind":":resterrorresponse"}`})
	_, err := f.h.Call("list_tokens", f.conn, nil)
	e := sdkErr(t, err, sdk.CodeUnauthenticated)
	if !strings.Contains(e.Message, "X-F5-Auth-Token does not exist") {
		t.Fatalf("message %q", e.Message)
	}
	if n := f.logins(); n != 3 {
		t.Fatalf("login sent %d times, want 3", n)
	}
	// Any other 401 is not a reason to log in again.
	f.sim.Faults().Clear()
	f.sim.Faults().Add(simkit.Fault{PathPrefix: tokensPath, Status: 401, Body: `{"code":401,"message":"Authorization failed: something else"}`, Times: 1})
	_, err = f.h.Call("list_tokens", f.conn, nil)
	sdkErr(t, err, sdk.CodeUnauthenticated)
	if n := f.logins(); n != 3 {
		t.Fatalf("a different 401 caused a login (%d)", n)
	}
}

func TestBadPasswordNeverLeaks(t *testing.T) {
	f := newFixture(t)
	const canary = "canary-P4ss-w0rd-7f3e"
	f.conn["password"] = canary
	_, err := f.h.Call("list_tokens", f.conn, nil)
	e := sdkErr(t, err, sdk.CodeUnauthenticated)
	if !strings.Contains(e.Message, "rejected") {
		t.Fatalf("message %q", e.Message)
	}
	_, err2 := f.h.Call("login", f.conn, map[string]any{"username": sim.DefaultUser, "password": canary})
	for _, err := range []error{err, err2} {
		if err == nil || strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "canary") {
			t.Fatalf("error leaks the password (BIG-IP echoes it in originalRequestBody): %v", err)
		}
	}
}

func TestExtendTokenAboveTheLimitFailsBeforeAnyRequest(t *testing.T) {
	f := newFixture(t)
	for _, timeout := range []int{36001, 86400, 0, -1} {
		_, err := f.h.Call("extend_token", f.conn, map[string]any{"token": "FZ42XIKJMI6UGXDD7I3VU52EUY", "timeout": timeout})
		e := sdkErr(t, err, sdk.CodeInvalidArgument)
		if e.Param != "timeout" || !strings.Contains(e.Message, "36000") {
			t.Fatalf("timeout %d: %+v", timeout, e)
		}
		if timeout > 36000 && !strings.Contains(e.Message, "36000 seconds") {
			t.Fatalf("message %q does not name the 36000-second limit", e.Message)
		}
	}
	if n := len(f.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("the simulator received %d requests (not even a login is due)", n)
	}
}

func TestMalformedTokensAreRefusedBeforeAnyRequest(t *testing.T) {
	f := newFixture(t)
	for _, bad := range []string{"", "../../tm/sys", "ABC?x=1", "AB CD", "AB%2F", "A\nB"} {
		for _, op := range []string{"get_token", "revoke_token", "extend_token"} {
			args := map[string]any{"token": bad}
			if op == "extend_token" {
				args["timeout"] = 60
			}
			_, err := f.h.Call(op, f.conn, args)
			e := sdkErr(t, err, sdk.CodeInvalidArgument)
			if e.Param != "token" || (bad != "" && strings.Contains(e.Message, bad)) {
				t.Fatalf("%s(%q): %+v", op, bad, e)
			}
		}
	}
	if n := len(f.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestExtendToken(t *testing.T) {
	f := newFixture(t)
	tok := f.call("login", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})["token"]
	f.sim.Clock().Advance(5 * time.Minute)
	out := f.call("extend_token", map[string]any{"token": tok, "timeout": 36000})
	if out["expires_at"] != "2026-06-01T18:00:00Z" || out["token"] != tok {
		t.Fatalf("extend = %v", out)
	}
	for _, st := range f.sim.Tokens(sim.DefaultUser) {
		if st.Token == tok && (st.Timeout != 36000 || !st.Expires.Equal(start.Add(10*time.Hour))) {
			t.Fatalf("simulator holds %+v", st)
		}
	}
	f.sim.Clock().Advance(9 * time.Hour)
	if !f.sim.TokenValid(tok.(string)) {
		t.Fatal("extended token expired early")
	}
}

func TestGetTokenAuthenticatesWithTheTokenItself(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(sim.DefaultUser, 1)[0]
	out := f.call("get_token", map[string]any{"token": tok})
	if out["token"] != tok || out["user"] != sim.DefaultUser || out["expires_at"] != "2026-06-01T08:20:00Z" {
		t.Fatalf("get = %v", out)
	}
	if n := f.logins(); n != 0 {
		t.Fatalf("get_token logged in %d times; it authenticates with the token", n)
	}
	ex := f.h.Exchanges()
	if len(ex) != 1 || ex[0].Header.Get("X-F5-Auth-Token") != tok {
		t.Fatalf("exchanges = %+v", ex)
	}
	f.sim.RevokeToken(tok)
	_, err := f.h.Call("get_token", f.conn, map[string]any{"token": tok})
	e := sdkErr(t, err, sdk.CodeUnauthenticated)
	if strings.Contains(e.Message, tok) {
		t.Fatal("error names the token")
	}
}

func TestRevokeToken(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(sim.DefaultUser, 1)[0]
	if out := f.call("revoke_token", map[string]any{"token": tok}); out["revoked"] != true {
		t.Fatalf("revoke = %v", out)
	}
	if f.sim.TokenValid(tok) {
		t.Fatal("revoked token still valid")
	}
	_, err := f.h.Call("revoke_token", f.conn, map[string]any{"token": tok})
	sdkErr(t, err, sdk.CodeNotFound)
	if out := f.call("revoke_token", map[string]any{"token": tok, "missing_ok": true}); out["revoked"] != false {
		t.Fatalf("revoke missing_ok = %v", out)
	}
	// Another user's token is refused by BIG-IP.
	other := f.issue(sim.AdminUser, 1)[0]
	_, err = f.h.Call("revoke_token", f.conn, map[string]any{"token": other})
	sdkErr(t, err, sdk.CodeInvalidArgument)
	if !f.sim.TokenValid(other) {
		t.Fatal("another user's token was revoked")
	}
}

func TestRevokingTheSessionTokenLogsInAfreshNextTime(t *testing.T) {
	f := newFixture(t)
	f.call("list_tokens", nil)
	own := f.sim.Tokens(sim.DefaultUser)[0].Token
	f.call("revoke_token", map[string]any{"token": own})
	f.call("list_tokens", nil)
	if n := f.logins(); n != 2 {
		t.Fatalf("logins = %d, want 2", n)
	}
	for _, e := range f.sim.Recorder().Entries() {
		if e.Status == http.StatusUnauthorized {
			t.Fatalf("a request was sent with the revoked token: %+v", e)
		}
	}
}

func TestRevokeAllKeepsTheCurrentToken(t *testing.T) {
	f := newFixture(t)
	f.issue(sim.DefaultUser, 5)
	other := f.issue(sim.AdminUser, 2)
	out := f.call("revoke_all_tokens", nil)
	if out["revoked"] != int64(5) || out["kept"] != int64(1) {
		t.Fatalf("revoke_all = %v", out)
	}
	left := f.sim.Tokens(sim.DefaultUser)
	list := tokens(f.call("list_tokens", nil))
	if len(left) != 1 || len(list) != 1 || list[0]["current"] != true || list[0]["token"] != left[0].Token {
		t.Fatalf("left %v, listed %v", left, list)
	}
	for _, o := range other {
		if !f.sim.TokenValid(o) {
			t.Fatal("another user's token was revoked")
		}
	}
}

func TestRevokeAllWithoutKeepingCurrentDeletesItLast(t *testing.T) {
	f := newFixture(t)
	f.issue(sim.DefaultUser, 3)
	out := f.call("revoke_all_tokens", map[string]any{"keep_current": false})
	if out["revoked"] != int64(4) {
		t.Fatalf("revoke_all = %v", out)
	}
	if n := len(f.sim.Tokens(sim.DefaultUser)); n != 0 {
		t.Fatalf("%d tokens left", n)
	}
	for _, e := range f.sim.Recorder().Entries() {
		if e.Status == http.StatusUnauthorized {
			t.Fatalf("the session token was deleted before the others: %+v", e)
		}
	}
	f.sim.Recorder().Reset()
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("close sent %d requests for a token already revoked", n)
	}
}

func TestAtTheLimitTheGivenTokenCleansUp(t *testing.T) {
	f := newFixture(t)
	toks := f.issue(sim.DefaultUser, 100)
	mine := toks[42]
	_, err := f.h.Call("login", f.conn, map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})
	e := sdkErr(t, err, sdk.CodePermissionDenied)
	if !strings.Contains(e.Message, "maximum active login tokens") {
		t.Fatalf("message %q", e.Message)
	}
	f.conn["token"] = mine
	out := f.call("revoke_all_tokens", map[string]any{"keep_current": true})
	if out["revoked"] != int64(99) || out["kept"] != int64(1) {
		t.Fatalf("revoke_all = %v", out)
	}
	if left := f.sim.Tokens(sim.DefaultUser); len(left) != 1 || left[0].Token != mine {
		t.Fatalf("left %v", left)
	}
	f.call("login", map[string]any{"username": sim.DefaultUser, "password": sim.DefaultPassword})
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if !f.sim.TokenValid(mine) {
		t.Fatal("closing the connection deleted the token it was given")
	}
	if n := f.logins(); n != 2 {
		t.Fatalf("logins = %d, want the two login op calls only", n)
	}
}

func TestGivenTokenExpiredFallsBackToLoginOnce(t *testing.T) {
	f := newFixture(t)
	stale := f.issue(sim.DefaultUser, 1)[0]
	f.sim.Clock().Advance(21 * time.Minute)
	f.conn["token"] = stale
	f.call("list_tokens", nil)
	if n := f.logins(); n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
	// Without credentials the connection cannot recover.
	f.conn = map[string]any{"url": f.conn["url"], "token": stale}
	_, err := f.h.CallConn("c2", "list_tokens", f.conn, nil)
	e := sdkErr(t, err, sdk.CodeUnauthenticated)
	if !strings.Contains(e.Message, "no username and password") {
		t.Fatalf("message %q", e.Message)
	}
}

func TestRevokeAllDryRunHoldsEveryDelete(t *testing.T) {
	f := newFixture(t)
	toks := f.issue(sim.DefaultUser, 7)
	f.h.DryRun = true
	_, err := f.h.Call("revoke_all_tokens", f.conn, nil)
	if !errors.Is(err, sdktest.Held) {
		t.Fatalf("got %v, want held", err)
	}
	held := map[string]bool{}
	for _, ex := range f.h.Exchanges() {
		if ex.Method == http.MethodDelete {
			held[ex.URL[strings.LastIndex(ex.URL, "/")+1:]] = true
		}
	}
	if len(held) != len(toks) {
		t.Fatalf("%d DELETEs reached the plan, want %d", len(held), len(toks))
	}
	for _, tk := range toks {
		if !held[tk] || !f.sim.TokenValid(tk) {
			t.Fatalf("token %s: held=%v valid=%v", tk, held[tk], f.sim.TokenValid(tk))
		}
	}
	if w := f.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("the simulator saw %d writes in a dry-run", w)
	}
	// The dry-run's session is logged out at close.
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sim.Tokens(sim.DefaultUser)); n != 7 || f.sim.Recorder().Writes() != 0 {
		t.Fatalf("%d tokens left, %d writes", n, f.sim.Recorder().Writes())
	}
}

func TestRevokeAllReportsFailuresAfterTryingEveryToken(t *testing.T) {
	f := newFixture(t)
	toks := f.issue(sim.DefaultUser, 4)
	f.call("list_tokens", nil)
	f.sim.Faults().Add(simkit.Fault{Method: http.MethodDelete, PathPrefix: tokensPath + "/" + toks[1], Status: 500, Body: `{"code":500,"message":"boom"}`})
	_, err := f.h.Call("revoke_all_tokens", f.conn, nil)
	e := sdkErr(t, err, sdk.CodeInternal)
	if !strings.Contains(e.Message, "revoked 3 of 4 tokens; 1 failed") || !strings.Contains(e.Message, "boom") {
		t.Fatalf("message %q", e.Message)
	}
	if n := len(f.sim.Tokens(sim.DefaultUser)); n != 2 {
		t.Fatalf("%d tokens left, want the failed one and the session", n)
	}
}

func TestVersion(t *testing.T) {
	f := newFixture(t)
	out := f.call("version", nil)
	if out["version"] != "17.1.1" || out["product"] != "BIG-IP" || out["build"] != "0.0.6" || out["edition"] != "Final" {
		t.Fatalf("version = %v", out)
	}
}

func op(name string) sdk.Op {
	for _, o := range ops.Plugin().Ops {
		if o.Name == name {
			return o
		}
	}
	panic(name)
}

func TestWritesCanBeReconciledAfterAnInterruptedRun(t *testing.T) {
	for _, name := range []string{"login", "extend_token", "revoke_token", "revoke_all_tokens"} {
		if op(name).Reconcile == nil {
			t.Errorf("%s cannot be reconciled: resuming a run killed while it was in flight would stop", name)
		}
	}
	// A revoke lost in flight took effect exactly when the token is gone.
	f := newFixture(t)
	tok := f.issue(sim.DefaultUser, 1)[0]
	c := &sdk.Call{Op: "revoke_token", Conn: sdk.Values{"url": f.conn["url"]}, Args: sdk.Values{"token": tok, "missing_ok": false}, HTTP: f.client}
	if res, applied, err := op("revoke_token").Reconcile(t.Context(), c); err != nil || applied || res != nil {
		t.Fatalf("live token: %v %v %v, want not applied", res, applied, err)
	}
	f.sim.RevokeToken(tok)
	res, applied, err := op("revoke_token").Reconcile(t.Context(), c)
	if err != nil || !applied || res.(map[string]any)["revoked"] != true {
		t.Fatalf("revoked token: %v %v %v, want applied", res, applied, err)
	}
	f.sim.Faults().Add(simkit.Fault{Status: 503, Body: `{"code":503,"message":"busy"}`})
	if _, _, err := op("revoke_token").Reconcile(t.Context(), c); err == nil {
		t.Fatal("a 503 while checking must not count as revoked or not")
	}
}
