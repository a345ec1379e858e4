// Package bigip_test runs the shipped BIG-IP flows end to end: the engine,
// the real plugin binary and the simulator over HTTPS with a generated CA.
package bigip_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

const (
	loginPath  = "/mgmt/shared/authn/login"
	tokensPath = "/mgmt/shared/authz/tokens"
	storeName  = "bigip/automation"
)

var start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

type env struct {
	sim      *sim.Sim
	srv      *simkit.Server
	caFile   string
	vars     map[string]string
	password string
	store    *store.Memory
	log      bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	clock := simkit.NewClock(start)
	s := sim.New(sim.Config{Clock: clock})
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &env{
		sim: s, srv: srv, caFile: caFile, store: store.NewMemory(clock.Now), password: sim.DefaultPassword,
		vars: map[string]string{"url": srv.URL, "ca_file": caFile, "username": sim.DefaultUser, "store_name": storeName},
	}
}

func (e *env) run(t *testing.T, flow string, mod func(*engine.Options)) (*engine.Result, error) {
	t.Helper()
	opts := engine.Options{
		Vars: e.vars, Store: e.store, Now: e.sim.Clock().Now, Log: &e.log,
		Getenv: func(k string) (string, bool) {
			if k == "BIGIP_PASSWORD" {
				return e.password, true
			}
			return "", false
		},
		Retry: hostnet.RetryPolicy{Max: -1}, // faults must fail at once, not after backoff
	}
	if mod != nil {
		mod(&opts)
	}
	return flowtest.Run(t, flowtest.Flow("bigip", flow), opts, "bigip")
}

func (e *env) mustRun(t *testing.T, flow string, mod func(*engine.Options)) map[string]any {
	t.Helper()
	res, err := e.run(t, flow, mod)
	if err != nil {
		t.Fatalf("%s: %v", flow, err)
	}
	return flowtest.Outputs(res)
}

func (e *env) stored(t *testing.T) string {
	t.Helper()
	tok, err := e.store.Get(context.Background(), e.srv.URL, storeName)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return tok.Value
}

func num(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func planText(res *engine.Result) string {
	var b bytes.Buffer
	res.Plan.WriteText(&b, res.Redactor)
	return b.String()
}

func TestSessionStoresAnExtendedToken(t *testing.T) {
	e := newEnv(t)
	e.vars["lifetime"] = "8h"
	out := e.mustRun(t, "session.star", nil)
	if out["expires_at"] != "2026-06-01T16:00:00Z" || num(out["timeout"]) != "28800" || out["user"] != sim.DefaultUser || out["store_name"] != storeName {
		t.Fatalf("outputs = %v", out)
	}
	tok, _ := e.store.Get(context.Background(), e.srv.URL, storeName)
	if !e.sim.TokenValid(tok.Value) || !tok.ExpiresAt.Equal(start.Add(8*time.Hour)) || tok.Vendor != "bigip" || tok.Labels["user"] != sim.DefaultUser {
		t.Fatalf("stored %+v", tok)
	}
	// The connection's own login was logged out; only the stored token is left.
	if left := e.sim.Tokens(sim.DefaultUser); len(left) != 1 || left[0].Token != tok.Value {
		t.Fatalf("tokens left: %+v", left)
	}
	e.sim.Clock().Advance(7*time.Hour + 59*time.Minute)
	if !e.sim.TokenValid(tok.Value) {
		t.Fatal("the stored token did not last the job")
	}
}

func TestLifetimeAboveTheMaximumFailsBeforeAnyRequest(t *testing.T) {
	e := newEnv(t)
	e.vars["lifetime"] = "11h"
	for _, flow := range []string{"session.star", "rotate.star"} {
		if flow == "rotate.star" {
			e.store.Put(context.Background(), store.Token{Target: e.srv.URL, Name: storeName, Value: "FZ42XIKJMI6UGXDD7I3VU52EUY"})
		}
		_, err := e.run(t, flow, nil)
		if err == nil || !strings.Contains(err.Error(), "36000 seconds") {
			t.Fatalf("%s: got %v, want an error naming the 36000-second limit", flow, err)
		}
	}
	if n := len(e.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("the simulator received %d requests", n)
	}
}

func TestCleanupAtTheLimitLeavesExactlyOneAndLoginWorksAgain(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "session.star", nil)
	kept := e.stored(t)
	for i := 0; i < sim.MaxTokensPerUser-1; i++ {
		if _, err := e.sim.IssueToken(sim.DefaultUser); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.sim.Tokens(sim.DefaultUser)); n != 100 {
		t.Fatalf("the user holds %d tokens, want 100", n)
	}
	// At the limit a login fails. session.star keeps a stored token that
	// still has more than renew_before left: ask for a new one.
	e.vars["renew_before"] = "10h"
	_, err := e.run(t, "session.star", nil)
	if err == nil || !strings.Contains(err.Error(), "maximum active login tokens") {
		t.Fatalf("login at the limit: %v", err)
	}

	e.sim.Recorder().Reset()
	out := e.mustRun(t, "cleanup.star", nil)
	if out["authenticated_with"] != "stored token" || num(out["listed"]) != "100" || num(out["to_revoke"]) != "99" || num(out["revoked"]) != "99" || num(out["kept"]) != "1" {
		t.Fatalf("cleanup outputs = %v", out)
	}
	left := e.sim.Tokens(sim.DefaultUser)
	if len(left) != 1 || left[0].Token != kept || e.stored(t) != kept {
		t.Fatalf("left %d tokens; want exactly the stored one", len(left))
	}
	if n := e.sim.Recorder().Count(http.MethodDelete, tokensPath+"/"); n != 99 {
		t.Fatalf("%d DELETEs, want 99", n)
	}

	// The login that hit the limit now succeeds.
	e.mustRun(t, "session.star", nil)
	if e.stored(t) == kept || !e.sim.TokenValid(e.stored(t)) {
		t.Fatal("session.star did not store a new token after the cleanup")
	}
}

func TestCleanupWithoutAStoredTokenLogsInAndLeavesNone(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.sim.IssueToken(sim.DefaultUser)
	}
	out := e.mustRun(t, "cleanup.star", nil)
	if out["authenticated_with"] != "login" || num(out["listed"]) != "6" || num(out["revoked"]) != "5" || num(out["kept"]) != "1" {
		t.Fatalf("outputs = %v", out)
	}
	// The run's own session token was logged out at the end.
	if n := len(e.sim.Tokens(sim.DefaultUser)); n != 0 {
		t.Fatalf("%d tokens left", n)
	}
}

func TestCleanupDryRunListsEveryDeleteAndSendsNone(t *testing.T) {
	for _, withStored := range []bool{true, false} {
		name := map[bool]string{true: "stored token", false: "login"}[withStored]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			var others []string
			if withStored {
				e.mustRun(t, "session.star", nil)
			}
			for i := 0; i < 12; i++ {
				tok, _ := e.sim.IssueToken(sim.DefaultUser)
				others = append(others, tok)
			}
			e.sim.Recorder().Reset()
			res, err := e.run(t, "cleanup.star", func(o *engine.Options) { o.DryRun = true })
			if err != nil {
				t.Fatal(err)
			}
			if w := e.sim.Recorder().Writes(); w != 0 {
				t.Fatalf("the simulator saw %d writes during a dry-run: %+v", w, e.sim.Recorder().Entries())
			}
			deletes := e.sim.Recorder().Count(http.MethodDelete, tokensPath)
			if want := map[bool]int{true: 0, false: 1}[withStored]; deletes != want {
				// Without a stored token the only DELETE is the dry-run's
				// own logout.
				t.Fatalf("%d DELETEs reached the simulator, want %d", deletes, want)
			}
			for _, tok := range others {
				if !e.sim.TokenValid(tok) {
					t.Fatal("a token was revoked by a dry-run")
				}
			}
			p := planText(res)
			if n := strings.Count(p, "would send: DELETE "+e.srv.URL+tokensPath+"/***"); n != 12 {
				t.Errorf("plan shows %d DELETEs, want 12", n)
			}
			if n := strings.Count(p, "(token: user automation, started 2026-06-01T08:00:00Z, expires 2026-06-01T08:20:00Z, from 127.0.0.1)"); n != 12 {
				t.Errorf("plan names %d of the 12 tokens", n)
			}
			for _, tok := range others {
				if strings.Contains(p, tok) {
					t.Fatal("the plan shows a token")
				}
			}
			if res.Pending() == 0 {
				t.Error("no change pending")
			}
			if t.Failed() {
				t.Log(p)
			}
			out := flowtest.Outputs(res)
			if num(out["to_revoke"]) != "12" {
				t.Fatalf("outputs = %v", out)
			}
		})
	}
}

func TestRotateReplacesTheStoredTokenThenRevokesTheOld(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "session.star", nil)
	old := e.stored(t)
	e.sim.Clock().Advance(9 * time.Hour)
	e.sim.Recorder().Reset()
	out := e.mustRun(t, "rotate.star", nil)
	newTok := e.stored(t)
	if newTok == old || !e.sim.TokenValid(newTok) || e.sim.TokenValid(old) {
		t.Fatal("rotation did not replace and revoke")
	}
	if num(out["revoked"]) != "1" || num(out["already_gone"]) != "0" || out["expires_at"] != "2026-06-02T03:00:00Z" {
		t.Fatalf("outputs = %v", out)
	}
	st, _ := e.store.Get(context.Background(), e.srv.URL, storeName)
	if st.RotatedAt.IsZero() || !st.ExpiresAt.Equal(start.Add(19*time.Hour)) {
		t.Fatalf("stored %+v", st)
	}
	// Order on the wire: login, extend, verify with the new token, then
	// revoke the old one; no extra login for the connection.
	var seq []string
	for _, en := range e.sim.Recorder().Entries() {
		seq = append(seq, en.Method+" "+strings.NewReplacer(newTok, "NEW", old, "OLD").Replace(en.Path))
	}
	want := []string{"POST " + loginPath, "PATCH " + tokensPath + "/NEW", "GET " + tokensPath + "/NEW", "DELETE " + tokensPath + "/OLD"}
	if strings.Join(seq, ",") != strings.Join(want, ",") {
		t.Fatalf("requests %v, want %v", seq, want)
	}
	if n := len(e.sim.Tokens(sim.DefaultUser)); n != 1 {
		t.Fatalf("%d tokens left, want 1", n)
	}
}

func TestRotateWithAnExpiredOldTokenLogsIn(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "session.star", nil)
	e.sim.Clock().Advance(11 * time.Hour) // the stored token expired
	out := e.mustRun(t, "rotate.star", nil)
	if num(out["revoked"]) != "0" || num(out["already_gone"]) != "1" || !e.sim.TokenValid(e.stored(t)) {
		t.Fatalf("outputs = %v", out)
	}
	if n := len(e.sim.Tokens(sim.DefaultUser)); n != 1 {
		t.Fatalf("%d tokens left, want 1 (the connection's login was logged out)", n)
	}
}

// The issue asks for a test that kills rotate.star between steps; the
// durable state store (and resume) come with a later issue. Here a fault
// makes each request of the rotation fail in turn, which stops the flow at
// that step like a kill, and the in-memory store is checked afterwards.
func TestRotateFailingAtEachStepLeavesAValidStoredToken(t *testing.T) {
	steps := []struct {
		name   string
		method string
		path   func(old string) string
		// what the store holds after the failure: the old token, or the new one
		wantOld bool
	}{
		{"login", http.MethodPost, func(string) string { return loginPath }, true},
		{"extend", http.MethodPatch, func(string) string { return tokensPath + "/" }, true},
		{"verify", http.MethodGet, func(string) string { return tokensPath + "/" }, true},
		{"revoke", http.MethodDelete, func(old string) string { return tokensPath + "/" + old }, false},
	}
	for _, st := range steps {
		for _, drop := range []bool{false, true} {
			kind := map[bool]string{false: "500", true: "dropped connection"}[drop]
			t.Run(st.name+"/"+kind, func(t *testing.T) {
				e := newEnv(t)
				e.mustRun(t, "session.star", nil)
				old := e.stored(t)
				e.sim.Recorder().Reset()
				f := simkit.Fault{Method: st.method, PathPrefix: st.path(old)}
				if drop {
					f.Drop = true
				} else {
					f.Status = 500
					f.Body = `{"code":500,"message":"injected failure","referer":"127.0.0.1","restOperationId":1,"kind":":resterrorresponse"}`
				}
				e.sim.Faults().Add(f)
				if _, err := e.run(t, "rotate.star", nil); err == nil {
					t.Fatal("the rotation succeeded despite the fault")
				}
				got := e.stored(t)
				if !e.sim.TokenValid(got) {
					t.Fatal("the store holds a token that is not valid")
				}
				if st.wantOld != (got == old) {
					t.Fatalf("store holds the old token: %v, want %v", got == old, st.wantOld)
				}
				if st.name != "revoke" && !e.sim.TokenValid(old) {
					t.Fatal("the old token was revoked before the new one was stored and verified")
				}
				// The old token's DELETE, if sent at all, came after the
				// new token was read back.
				verified := false
				for _, en := range e.sim.Recorder().Entries() {
					if en.Method == http.MethodGet && strings.HasPrefix(en.Path, tokensPath+"/") && en.Status == 200 {
						verified = true
					}
					if en.Method == http.MethodDelete && en.Path == tokensPath+"/"+old && !verified {
						t.Fatal("DELETE of the old token before the new one was verified")
					}
				}
				// Recovery: with the fault gone, the next rotation works,
				// and revokes whatever the failed one left behind.
				e.sim.Faults().Clear()
				out := e.mustRun(t, "rotate.star", nil)
				if !e.sim.TokenValid(e.stored(t)) || e.sim.TokenValid(old) {
					t.Fatal("the retried rotation did not end with a new valid token and the old one revoked")
				}
				// The old token, and the new token of the failed rotation when
				// it got as far as its promotion.
				if want := map[bool]string{true: "2", false: "1"}[st.name == "revoke"]; num(out["revoked"]) != want {
					t.Fatalf("revoked = %v, want %s", out["revoked"], want)
				}
				versions, _ := e.store.Versions(context.Background(), e.srv.URL, storeName)
				for _, v := range versions {
					if v.State == store.Previous {
						t.Fatalf("a replaced token is left unrevoked in the store")
					}
				}
			})
		}
	}
}

func TestRotateDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "session.star", nil)
	old := e.stored(t)
	e.sim.Recorder().Reset()
	res, err := e.run(t, "rotate.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("a rotation dry-run sent %d requests: %+v", n, e.sim.Recorder().Entries())
	}
	if e.stored(t) != old || !e.sim.TokenValid(old) || len(e.sim.Tokens(sim.DefaultUser)) != 1 {
		t.Fatal("the dry-run changed something")
	}
	p := planText(res)
	for _, want := range []string{
		"would send: POST " + e.srv.URL + loginPath,
		"would send: PATCH " + e.srv.URL + tokensPath + "/(known after apply: login.token)",
		`"timeout": 36000`,
		`would store token "bigip/automation"`,
		"would make the pending version of \"bigip/automation\" current",
		"X-F5-Auth-Token: ***",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if strings.Contains(p, old) || strings.Contains(p, sim.DefaultPassword) {
		t.Error("the plan shows a secret")
	}
	if t.Failed() {
		t.Log(p)
	}
}

// TestSecretsNeverLeak runs every flow with a canary password, applied,
// dry-run, recorded and failing, and looks for the password and every token
// the simulator issued, in every encoding the redactor knows, in the run log,
// plans, outputs, errors and cassettes.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	const canary = "canary-Pw/d+7f3e=&x"
	e.password = canary
	e.sim.AddUser(sim.User{Name: sim.DefaultUser, Password: canary})
	dir := t.TempDir()
	var hay []string
	seen := map[string]bool{}
	collect := func(res *engine.Result, err error) {
		if res != nil {
			b, _ := json.Marshal(res.Outputs)
			hay = append(hay, string(b))
			if res.Plan != nil {
				hay = append(hay, planText(res))
				// The plan as --json prints it: a *plan.Plan has no exported
				// field and marshals to {}, which would check nothing.
				pj, err := json.Marshal(res.Plan.Steps(res.Redactor))
				if err != nil || !bytes.Contains(pj, []byte(`"requests":[{`)) {
					t.Fatalf("plan JSON %s (%v): want its steps and requests", pj, err)
				}
				hay = append(hay, string(pj))
			}
			sj, _ := json.Marshal(res.Steps)
			hay = append(hay, string(sj))
		}
		if err != nil {
			hay = append(hay, err.Error())
		}
		for _, tk := range e.sim.Tokens("") {
			seen[tk.Token] = true
		}
	}
	rec := func(name string) func(*engine.Options) {
		return func(o *engine.Options) { o.Record = filepath.Join(dir, name+".yaml") }
	}
	collect(e.run(t, "session.star", rec("session")))
	// Four more tokens: extend_token authenticates with the token it extends, so the flows
	// log in less and would otherwise leave fewer tokens for the check below to look at.
	for i := 0; i < 4; i++ {
		e.sim.IssueToken(sim.DefaultUser)
	}
	collect(nil, nil)
	collect(e.run(t, "cleanup.star", func(o *engine.Options) { o.DryRun = true }))
	collect(e.run(t, "cleanup.star", rec("cleanup")))
	collect(e.run(t, "rotate.star", rec("rotate")))
	collect(e.run(t, "rotate.star", func(o *engine.Options) { o.DryRun = true }))
	// A failed login: BIG-IP echoes the request body, password included.
	e.sim.AddUser(sim.User{Name: sim.DefaultUser, Password: "something-else"})
	e.vars["renew_before"] = "10h" // replace the stored token: session.star must log in
	_, err := e.run(t, "session.star", rec("badlogin"))
	if err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("bad login: %v", err)
	}
	collect(nil, err)
	for _, en := range e.sim.Recorder().Entries() {
		if strings.HasPrefix(en.Path, tokensPath+"/") {
			seen[strings.TrimPrefix(en.Path, tokensPath+"/")] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 4 {
		t.Fatalf("cassettes: %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		hay = append(hay, string(b))
		if !bytes.Contains(b, []byte("X-F5-Auth-Token")) && !strings.HasSuffix(f, "badlogin.yaml") {
			t.Errorf("%s records no authenticated request", f)
		}
	}
	hay = append(hay, e.log.String())
	if len(seen) < 6 {
		t.Fatalf("only %d tokens seen; the test is not looking at much", len(seen))
	}
	secrets := []string{canary}
	for tk := range seen {
		secrets = append(secrets, tk)
	}
	all := strings.Join(hay, "\n")
	for _, s := range secrets {
		for _, form := range redact.Forms(s) {
			if strings.Contains(all, form) {
				i := strings.Index(all, form)
				t.Errorf("secret form %q leaks: ...%s...", form, all[max(0, i-80):min(len(all), i+len(form)+20)])
			}
		}
	}
	if !strings.Contains(all, "would send: DELETE") || !strings.Contains(e.log.String(), "revoke: started") {
		t.Fatal("the haystack lacks the plan or the log")
	}
}

// cassettes are the committed recordings of the shipped flows, with what
// replaying each must output. TOKENFLOW_RECORD=1 records them again against
// the simulator (clock frozen at start, so the outputs do not change).
var cassettes = []struct {
	flow   string
	vars   map[string]string
	setup  func(t *testing.T, e *env) // before recording
	stored bool                       // the store holds the user's token
	want   map[string]any
}{
	{
		flow: "session.star", vars: map[string]string{"lifetime": "8h"},
		want: map[string]any{"expires_at": "2026-06-01T16:00:00Z", "timeout": "28800", "user": "automation", "store_name": storeName},
	},
	{
		flow:   "rotate.star",
		setup:  func(t *testing.T, e *env) { e.mustRun(t, "session.star", nil) },
		stored: true,
		want:   map[string]any{"expires_at": "2026-06-01T18:00:00Z", "revoked": "1", "already_gone": "0", "store_name": storeName},
	},
	{
		// Without a stored token: the flow logs in and must tell its own
		// session token apart from the others in the listing.
		flow: "cleanup.star",
		setup: func(t *testing.T, e *env) {
			for i := 0; i < 4; i++ {
				if _, err := e.sim.IssueToken(sim.DefaultUser); err != nil {
					t.Fatal(err)
				}
			}
		},
		want: map[string]any{"authenticated_with": "login", "listed": "5", "to_revoke": "4", "revoked": "4", "kept": "1"},
	},
}

func cassettePath(flow string) string {
	return filepath.Join(flowtest.RepoRoot(), "plugins", "bigip", "testdata", strings.TrimSuffix(flow, ".star")+".yaml")
}

func TestCommittedCassettesReplay(t *testing.T) {
	for _, c := range cassettes {
		t.Run(c.flow, func(t *testing.T) {
			path := cassettePath(c.flow)
			vars := map[string]string{"url": "https://bigip.example.test", "username": sim.DefaultUser, "store_name": storeName}
			for k, v := range c.vars {
				vars[k] = v
			}
			if os.Getenv("TOKENFLOW_RECORD") == "1" {
				e := newEnv(t)
				if c.setup != nil {
					c.setup(t, e)
				}
				for k, v := range c.vars {
					e.vars[k] = v
				}
				if !c.stored {
					e.store.Delete(context.Background(), e.srv.URL, storeName)
				}
				if _, err := e.run(t, c.flow, func(o *engine.Options) { o.Record = path }); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(sim.DefaultPassword)) || tokenLike.Match(data) {
				t.Fatal("the committed cassette holds the password or a token")
			}
			if c.flow == "cleanup.star" && maskedAlike(t, data) {
				t.Fatal("the cassette masks every secret as the same ***, so a replay cannot tell the connection's own token from the others; record it again (TOKENFLOW_RECORD=1): the engine now saves distinct placeholders")
			}
			// No simulator from here on: the URL does not even resolve.
			const seed = "REPLAYOLDTOKENREPLAYOLDTOK"
			st := store.NewMemory(nil)
			if c.stored {
				st.Put(context.Background(), store.Token{Target: vars["url"], Name: storeName, Value: seed})
			}
			res, err := flowtest.Run(t, flowtest.Flow("bigip", c.flow), engine.Options{
				Vars: vars, Replay: path, Store: st,
				Getenv: func(string) (string, bool) { return "replay-needs-no-real-password", true },
			}, "bigip")
			if err != nil {
				t.Fatal(err)
			}
			got := flowtest.Outputs(res)
			for k, want := range c.want {
				if g := strings.Trim(num(got[k]), `"`); g != want {
					t.Errorf("output %s = %s, want %s", k, g, want)
				}
			}
			if c.stored {
				if tok, err := st.Get(context.Background(), vars["url"], storeName); err != nil || tok.Value == seed {
					t.Errorf("the replayed run stored nothing new: %v", err)
				}
			}
		})
	}
}

var tokenLike = regexp.MustCompile(`\b[A-Z2-7]{26}\b`)

// maskedAlike reports whether the cassette's token listing shows every
// token with the same masked value.
func maskedAlike(t *testing.T, cassette []byte) bool {
	t.Helper()
	var values []string
	for _, line := range bytes.Split(cassette, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"items":[`)) {
			continue
		}
		for _, v := range regexp.MustCompile(`"token":"([^"]*)"`).FindAllSubmatch(line, -1) {
			values = append(values, string(v[1]))
		}
	}
	if len(values) < 2 {
		t.Fatalf("the cleanup cassette lists %d tokens; record it again", len(values))
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return false
		}
	}
	return true
}
