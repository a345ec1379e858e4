package bigip_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
)

// nonGET lists every request other than GET the simulator saw: logins
// included, since each one costs a token against the user's limit.
func nonGET(e *env) []string {
	var out []string
	for _, en := range e.sim.Recorder().Entries() {
		if en.Method != http.MethodGet {
			out = append(out, en.Method+" "+en.Path)
		}
	}
	return out
}

// sessionNoWrite runs session.star and fails unless it sent only GETs.
func (e *env) sessionNoWrite(t *testing.T) map[string]any {
	t.Helper()
	e.sim.Recorder().Reset()
	out := e.mustRun(t, "session.star", nil)
	if w := nonGET(e); len(w) != 0 {
		t.Fatalf("session.star with a valid stored token sent %v", w)
	}
	if out["action"] != "kept" {
		t.Fatalf("outputs = %v", out)
	}
	return out
}

func TestSessionTwiceLogsInOnceAndPlansNothing(t *testing.T) {
	e := newEnv(t)
	e.vars["lifetime"] = "8h"
	first := e.mustRun(t, "session.star", nil)
	if first["action"] != "logged_in" {
		t.Fatalf("first run outputs = %v", first)
	}
	stored := e.stored(t)

	e.sim.Clock().Advance(time.Hour)
	second := e.sessionNoWrite(t)
	if second["expires_at"] != first["expires_at"] || num(second["timeout"]) != "28800" || second["user"] != sim.DefaultUser {
		t.Fatalf("second run outputs = %v, want the stored token's %v", second, first)
	}
	if e.stored(t) != stored || len(e.sim.Tokens(sim.DefaultUser)) != 1 {
		t.Fatal("the second run replaced the token or left another one")
	}
	// The check authenticated with the stored token itself.
	if n := e.sim.Recorder().Count(http.MethodGet, tokensPath+"/"+stored); n != 1 {
		t.Fatalf("%d reads of the stored token, want 1", n)
	}

	e.sim.Recorder().Reset()
	res, err := e.run(t, "session.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if p := planText(res); res.Pending() != 0 || !strings.Contains(p, "Plan: no changes.") {
		t.Fatalf("dry-run after apply: %d pending\n%s", res.Pending(), p)
	}
	if w := nonGET(e); len(w) != 0 {
		t.Fatalf("the dry-run sent %v", w)
	}
}

// TestSessionAtTheTokenLimitKeepsTheStoredToken: rerunning session.star no
// longer fails when the user holds 100 tokens, since it does not log in.
func TestSessionAtTheTokenLimitKeepsTheStoredToken(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "session.star", nil)
	stored := e.stored(t)
	for i := 0; i < sim.MaxTokensPerUser-1; i++ {
		if _, err := e.sim.IssueToken(sim.DefaultUser); err != nil {
			t.Fatal(err)
		}
	}
	e.sessionNoWrite(t)
	if e.stored(t) != stored {
		t.Fatal("the stored token changed")
	}
}

func TestSessionReplacesATokenThatNoLongerServes(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(e *env, stored string)
		reason  string
	}{
		{"expiring within renew_before", func(e *env, _ string) { e.sim.Clock().Advance(7*time.Hour + 30*time.Minute) }, "within 1h0m0s"},
		{"revoked at BIG-IP", func(e *env, stored string) { e.sim.RevokeToken(stored) }, "the vendor no longer has"},
		{"shorter than the lifetime asked for", func(e *env, _ string) { e.vars["lifetime"] = "9h" }, "less than the 32400s asked for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.vars["lifetime"] = "8h"
			e.mustRun(t, "session.star", nil)
			old := e.stored(t)
			c.prepare(e, old)
			e.sim.Recorder().Reset()
			e.log.Reset()
			out := e.mustRun(t, "session.star", nil)
			if out["action"] != "logged_in" || e.stored(t) == old || !e.sim.TokenValid(e.stored(t)) {
				t.Fatalf("outputs = %v; a new valid token stored: %v", out, e.stored(t) != old)
			}
			if !strings.Contains(e.log.String(), c.reason) {
				t.Fatalf("the log does not say why (%q):\n%s", c.reason, e.log.String())
			}
			if strings.Contains(e.log.String(), old) || strings.Contains(e.log.String(), e.stored(t)) {
				t.Fatal("the log shows a token")
			}
			// One login: the new token authenticates its own extension.
			if n := e.sim.Recorder().Count(http.MethodPost, loginPath); n != 1 {
				t.Fatalf("%d logins, want 1", n)
			}
			e.sessionNoWrite(t)
		})
	}
}
