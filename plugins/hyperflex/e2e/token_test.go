package hyperflex

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestTokenFlowLogsInOnceAndReusesTheToken(t *testing.T) {
	e := newEnv(t, sim.Config{})
	out := e.mustRun("token.star", nil)
	if out["action"] != "obtained" {
		t.Fatalf("first run: %v", out)
	}
	f := e.readTokenFile()
	if !e.sim.AccessTokenValid(f.AccessToken, "READ") || !e.sim.RefreshTokenValid(f.RefreshToken) || f.TokenType != "Bearer" {
		t.Fatal("the file does not hold the live pair")
	}
	if f.Human != "Monday, June 01, 2026 at 08:00:00 AM UTC" || f.Unix != "1780300800" || f.Source != "tokenflow flows/hyperflex/token.star" {
		t.Fatalf("file times/source: %q %q %q", f.Human, f.Unix, f.Source)
	}
	if out["expires_at"] != "2026-06-19T08:00:00Z" {
		t.Fatalf("expires_at output %v", out["expires_at"])
	}
	before, _ := os.ReadFile(e.tokenFile)

	e.sim.Clock().Advance(10 * time.Minute)
	out = e.mustRun("token.star", nil)
	if out["action"] != "reused" {
		t.Fatalf("second run: %v", out)
	}
	if n := e.count(sim.AuthPath); n != 1 {
		t.Fatalf("/aaa/v1/auth received %d requests over two runs, want 1", n)
	}
	if n := e.count(sim.ValidatePath); n != 1 {
		t.Fatalf("/aaa/v1/validate received %d requests, want 1", n)
	}
	if n := e.count(sim.TokenPath); n != 0 {
		t.Fatalf("a valid token was refreshed")
	}
	after, _ := os.ReadFile(e.tokenFile)
	if !bytes.Equal(before, after) {
		t.Fatal("reusing the token rewrote the file")
	}
	tok, err := e.store.Get(context.Background(), e.url, "hyperflex/"+strings.TrimPrefix(e.url, "https://")+"/admin")
	if err != nil || tok.Value != f.AccessToken || tok.Vendor != "hyperflex" || !tok.ExpiresAt.Equal(start.Add(18*24*time.Hour)) {
		t.Fatalf("store: %+v, %v", tok, err)
	}
	rt, err := e.store.Get(context.Background(), e.url, "hyperflex/"+strings.TrimPrefix(e.url, "https://")+"/admin/refresh_token")
	if err != nil || rt.Value != f.RefreshToken {
		t.Fatalf("stored refresh token: %v", err)
	}
}

func TestTokenFlowRefreshesAnExpiredToken(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	old := e.readTokenFile()

	e.sim.Clock().Advance(19 * 24 * time.Hour)
	out := e.mustRun("token.star", nil)
	if out["action"] != "refreshed" || !strings.Contains(out["reason"].(string), "401") {
		t.Fatalf("after expiry: %v", out)
	}
	if n := e.count(sim.AuthPath); n != 1 {
		t.Fatalf("/aaa/v1/auth received %d requests, want 1 (refresh needs no login)", n)
	}
	if n := e.count(sim.TokenPath); n != 1 {
		t.Fatalf("/aaa/v1/token received %d requests, want 1", n)
	}
	neu := e.readTokenFile()
	if neu.AccessToken == old.AccessToken || neu.RefreshToken == old.RefreshToken {
		t.Fatal("the file still holds the old pair")
	}
	if !e.sim.AccessTokenValid(neu.AccessToken, "READ") || e.sim.RefreshTokenValid(old.RefreshToken) {
		t.Fatal("the file's pair is not the live one")
	}
	if neu.Human != "Saturday, June 20, 2026 at 08:00:00 AM UTC" {
		t.Fatalf("creation time %q, want the refresh time", neu.Human)
	}
	tok, _ := e.store.Get(context.Background(), e.url, "hyperflex/"+strings.TrimPrefix(e.url, "https://")+"/admin")
	if tok.Value != neu.AccessToken || tok.RotatedAt.IsZero() {
		t.Fatalf("store not rotated: %+v", tok)
	}
}

func TestTokenFlowLogsInAnewWhenTheRefreshTokenIsRevoked(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	old := e.readTokenFile()
	e.sim.Clock().Advance(19 * 24 * time.Hour)
	if !e.sim.RevokeSession(old.RefreshToken) {
		t.Fatal("no session to revoke")
	}
	out := e.mustRun("token.star", nil)
	if out["action"] != "obtained" || !strings.Contains(out["reason"].(string), "refused the refresh") {
		t.Fatalf("after revocation: %v", out)
	}
	if n := e.count(sim.TokenPath); n != 1 {
		t.Fatalf("refresh tried %d times, want 1", n)
	}
	if n := e.count(sim.AuthPath); n != 2 {
		t.Fatalf("/aaa/v1/auth received %d requests, want 2", n)
	}
	if f := e.readTokenFile(); !e.sim.AccessTokenValid(f.AccessToken, "READ") {
		t.Fatal("the new token is not live")
	}
}

func TestTokenFlowAtTheRateLimitFailsClearlyWithoutHammering(t *testing.T) {
	e := newEnv(t, sim.Config{AuthRateLimit: 1, AuthRateWindow: 15 * time.Minute})
	e.mustRun("token.star", map[string]string{"token_file": filepath.Join(e.dir, "other.xml")})
	_, err := e.run("token.star", nil)
	msg := flowError(t, err)
	for _, want := range []string{"hyperflex.obtain_token", "rate_limited", "rate limit", "try again in 15m0s", "token file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if n := e.count(sim.AuthPath); n != 2 {
		t.Fatalf("/aaa/v1/auth received %d requests, want 2: one login, one refused attempt", n)
	}
	if _, err := os.Stat(e.tokenFile); !os.IsNotExist(err) {
		t.Fatalf("a token file was written: %v", err)
	}
}

func TestTokenFlowWaitsOutAShortRateLimit(t *testing.T) {
	e := newEnv(t, sim.Config{})
	// One 429 with a Retry-After within the engine's retry bound (WaitMax 3s here).
	e.sim.Faults().Add(simkit.Fault{Method: http.MethodPost, PathPrefix: sim.AuthPath, Status: http.StatusTooManyRequests,
		RetryAfter: time.Second, Body: `{"message":"Too many requests"}`, Times: 1})
	began := time.Now()
	out := e.mustRun("token.star", nil)
	took := time.Since(began)
	if out["action"] != "obtained" {
		t.Fatalf("outputs %v", out)
	}
	if n := e.count(sim.AuthPath); n != 2 {
		t.Fatalf("/aaa/v1/auth received %d requests, want 2: one refused, one after Retry-After", n)
	}
	if took < time.Second {
		t.Fatalf("the run took %s: the engine did not wait for Retry-After", took)
	}
	e.readTokenFile()
}

func TestTokenFlowStopsRetryingAPersistentRateLimit(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.retry.WaitMax = 1500 * time.Millisecond
	e.sim.Faults().Add(simkit.Fault{Method: http.MethodPost, PathPrefix: sim.AuthPath, Status: http.StatusTooManyRequests,
		RetryAfter: time.Second, Body: `{"message":"Too many requests"}`})
	_, err := e.run("token.star", nil)
	msg := flowError(t, err)
	if !strings.Contains(msg, "rate_limited") || !strings.Contains(msg, "try again in 1s") {
		t.Fatalf("error %q", msg)
	}
	if n := e.count(sim.AuthPath); n != 1+e.retry.Max {
		t.Fatalf("/aaa/v1/auth received %d requests, want %d: the first and RetryPolicy.Max retries", n, 1+e.retry.Max)
	}
	if _, err := os.Stat(e.tokenFile); !os.IsNotExist(err) {
		t.Fatal("a token file was written")
	}
}

// login logs in on the simulator directly, as another client would.
func (e *env) login(t *testing.T) {
	t.Helper()
	pem, _ := os.ReadFile(e.caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	body, _ := json.Marshal(map[string]string{"username": sim.DefaultUser, "password": canaryPassword, "client_id": sim.ClientID, "client_secret": sim.ClientSecret})
	resp, err := (&http.Client{Transport: tr}).Post(e.url+sim.AuthPath+"?grant_type=password", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("login: %d", resp.StatusCode)
	}
}

func TestDryRunLogsInNowhereAndMasksThePassword(t *testing.T) {
	e := newEnv(t, sim.Config{})
	o := e.opts(nil)
	o.DryRun = true
	res, err := e.runOpts("token.star", o)
	if err != nil {
		t.Fatal(err)
	}
	if w := e.sim.Recorder().Writes(); w != 0 || e.count(sim.AuthPath) != 0 {
		t.Fatalf("the simulator saw %d writes, %d logins in a dry-run", w, e.count(sim.AuthPath))
	}
	if len(e.sim.Sessions()) != 0 {
		t.Fatal("a dry-run opened a session")
	}
	if _, err := os.Stat(e.tokenFile); !os.IsNotExist(err) {
		t.Fatal("a dry-run wrote the token file")
	}
	if toks, _ := e.store.List(context.Background()); len(toks) != 0 {
		t.Fatal("a dry-run stored a token")
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	text := plan.String()
	for _, want := range []string{"POST", "/aaa/v1/auth?grant_type=password", `"password"`, "***", `"client_id"`, "HxGuiClient", "would write " + e.tokenFile, "would store token"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan does not show %q:\n%s", want, text)
		}
	}
	if res.Pending() == 0 {
		t.Fatal("no pending changes")
	}
	steps, _ := json.Marshal(res.Plan.Steps(res.Redactor))
	if !strings.Contains(string(steps), `\"password\":\"***\"`) {
		t.Fatalf("the held login's body does not show the password masked: %s", steps)
	}
	if out := flowtest.Outputs(res); out["action"] != "obtained" {
		t.Fatalf("outputs %v", out)
	}
}

func TestDryRunWithAValidTokenChangesNothing(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	before, _ := os.ReadFile(e.tokenFile)
	e.sim.Recorder().Reset()
	o := e.opts(nil)
	o.DryRun = true
	res, err := e.runOpts("token.star", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending() != 0 || flowtest.Outputs(res)["action"] != "reused" {
		t.Fatalf("pending %d, outputs %v", res.Pending(), flowtest.Outputs(res))
	}
	if e.count(sim.ValidatePath) != 1 || e.sim.Recorder().Writes() != 0 {
		t.Fatal("the dry-run did not just validate")
	}
	after, _ := os.ReadFile(e.tokenFile)
	if !bytes.Equal(before, after) {
		t.Fatal("the file changed")
	}
}

func TestDryRunOfARefreshShowsItAndStops(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	e.sim.Clock().Advance(19 * 24 * time.Hour)
	e.sim.Recorder().Reset()
	o := e.opts(nil)
	o.DryRun = true
	res, err := e.runOpts("token.star", o)
	msg := flowError(t, err)
	if !strings.Contains(msg, "known only after apply") {
		t.Fatalf("error %q", msg)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	if !strings.Contains(plan.String(), "/aaa/v1/token?grant_type=refresh") {
		t.Fatalf("the plan does not show the refresh:\n%s", plan.String())
	}
	if e.sim.Recorder().Writes() != 0 {
		t.Fatal("the dry-run refreshed")
	}
}

func TestBadTokenFilesAreClearErrorsAndLeftAlone(t *testing.T) {
	valid := func(e *env) string {
		e.mustRun("token.star", nil)
		raw, _ := os.ReadFile(e.tokenFile)
		return string(raw)
	}
	for _, tc := range []struct {
		name string
		make func(e *env) (content string, mode os.FileMode)
		want []string
	}{
		{"readable by others", func(e *env) (string, os.FileMode) { return valid(e), 0o644 }, []string{"mode 0644", "chmod 600"}},
		{"truncated", func(e *env) (string, os.FileMode) { v := valid(e); return v[:len(v)-40], 0o600 }, []string{"not a usable HyperFlex token file", "truncated", "left unchanged", "overwrite=true"}},
		{"no refresh token", func(e *env) (string, os.FileMode) {
			v := valid(e)
			i, j := strings.Index(v, "<refresh_token>"), strings.Index(v, "</refresh_token>")+len("</refresh_token>")
			return v[:i] + v[j:], 0o600
		}, []string{"missing element token/refresh_token", "left unchanged"}},
		{"not a token file", func(e *env) (string, os.FileMode) { return "<config><x>1</x></config>", 0o600 }, []string{"root element is <config>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sim.Config{})
			content, mode := tc.make(e)
			e.writeFile(content, mode)
			e.sim.Recorder().Reset()
			_, err := e.run("token.star", nil)
			msg := flowError(t, err)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			got, _ := os.ReadFile(e.tokenFile)
			fi, _ := os.Stat(e.tokenFile)
			if string(got) != content || fi.Mode().Perm() != mode {
				t.Fatal("the file was changed")
			}
			if n := len(e.sim.Recorder().Entries()); n != 0 {
				t.Fatalf("the flow sent %d requests for an unusable file", n)
			}

			// overwrite=true takes the file over.
			out := e.mustRun("token.star", map[string]string{"overwrite": "true"})
			f := e.readTokenFile() // mode 0600, Python layout
			if !e.sim.AccessTokenValid(f.AccessToken, "READ") {
				t.Fatal("the file does not hold a live token after overwrite=true")
			}
			wantLogins := 1
			if out["action"] == "reused" {
				wantLogins = 0
			}
			if n := e.count(sim.AuthPath); n != wantLogins {
				t.Fatalf("%d logins, want %d (%v)", n, wantLogins, out)
			}
		})
	}
}

func TestOverwriteFalseNeverChangesTheFile(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	before, _ := os.ReadFile(e.tokenFile)
	e.sim.Clock().Advance(19 * 24 * time.Hour)
	_, err := e.run("token.star", map[string]string{"overwrite": "false"})
	msg := flowError(t, err)
	if !strings.Contains(msg, "no longer valid (validate answered HTTP 401) and overwrite is false") {
		t.Fatalf("error %q", msg)
	}
	after, _ := os.ReadFile(e.tokenFile)
	if !bytes.Equal(before, after) || e.count(sim.TokenPath) != 0 || e.count(sim.AuthPath) != 1 {
		t.Fatal("overwrite=false changed the file or the cluster")
	}
	if _, err := e.run("token.star", map[string]string{"overwrite": "maybe"}); !strings.Contains(flowError(t, err), "want true or false") {
		t.Fatal("a bad overwrite value was accepted")
	}
}

// A file the Python tool wrote is reused as is: switching to tokenflow needs no login.
func TestTokenFlowReusesAFileThePythonToolWrote(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.login(t)
	se := e.sim.Sessions()[0]
	python := "<hx_api_token><token><access_token>" + se.AccessToken + "</access_token><refresh_token>" + se.RefreshToken +
		"</refresh_token><token_type>Bearer</token_type></token><creation_time_format><human_readable_time>Monday, June 01, 2026 at 08:00:00 AM UTC" +
		"</human_readable_time><unix_timestamp_time>1780300800</unix_timestamp_time></creation_time_format><source_module>C:\\Users\\hxadmin\\hx_api_token_manager.py</source_module></hx_api_token>"
	e.writeFile(python, 0o600)
	out := e.mustRun("token.star", nil)
	if out["action"] != "reused" || e.count(sim.AuthPath) != 1 {
		t.Fatalf("outputs %v, %d logins", out, e.count(sim.AuthPath))
	}
	if got, _ := os.ReadFile(e.tokenFile); string(got) != python {
		t.Fatal("the Python tool's file was rewritten")
	}
	// After the token expires, tokenflow refreshes it and keeps the file in the same layout.
	e.sim.Clock().Advance(19 * 24 * time.Hour)
	if out := e.mustRun("token.star", nil); out["action"] != "refreshed" {
		t.Fatalf("outputs %v", out)
	}
	if f := e.readTokenFile(); f.RefreshToken == se.RefreshToken || !e.sim.RefreshTokenValid(f.RefreshToken) {
		t.Fatal("the file does not hold the refreshed pair")
	}
}

func TestScopeVar(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	// The admin token covers MODIFY: reused.
	if out := e.mustRun("token.star", map[string]string{"scope": "MODIFY"}); out["action"] != "reused" {
		t.Fatalf("outputs %v", out)
	}
	if _, err := e.run("token.star", map[string]string{"scope": "ALL"}); !strings.Contains(flowError(t, err), "want READ or MODIFY") {
		t.Fatal("a bad scope was accepted")
	}
}

func TestRevokeFlow(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	f := e.readTokenFile()
	out := e.mustRun("revoke.star", nil)
	if out["revoked"] != true {
		t.Fatalf("outputs %v", out)
	}
	if e.sim.RefreshTokenValid(f.RefreshToken) || e.sim.AccessTokenValid(f.AccessToken, "READ") {
		t.Fatal("the pair is still live")
	}
	if toks, _ := e.store.List(context.Background()); len(toks) != 0 {
		t.Fatalf("the store still holds %d tokens", len(toks))
	}
	// Revoking again is not an error; the outputs say nothing was revoked.
	if out := e.mustRun("revoke.star", nil); out["revoked"] != false || out["status"] != int64(401) {
		t.Fatalf("second revoke: %v", out)
	}
	// The next token.star run cannot refresh a revoked pair and logs in anew.
	if out := e.mustRun("token.star", nil); out["action"] != "obtained" {
		t.Fatalf("token.star after revoke: %v", out)
	}
	// A dry-run of revoke.star sends nothing.
	e.sim.Recorder().Reset()
	o := e.opts(nil)
	o.DryRun = true
	res, err := e.runOpts("revoke.star", o)
	if err != nil {
		t.Fatal(err)
	}
	if e.sim.Recorder().Writes() != 0 || res.Pending() == 0 {
		t.Fatalf("dry-run revoke: %d writes, %d pending", e.sim.Recorder().Writes(), res.Pending())
	}
}
