package bigip_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
)

// TestOffboardRevokesStoredTokensAndConverges: session.star's tokens (the current one and a
// replaced one) are planned for revocation, revoked without a login, marked revoked in the store;
// a second offboard sends nothing at all and plans no change.
func TestOffboardRevokesStoredTokensAndConverges(t *testing.T) {
	e := newEnv(t)
	e.vars["lifetime"] = "8h"
	e.mustRun(t, "session.star", nil)
	first := e.stored(t)
	e.sim.Clock().Advance(7*time.Hour + 30*time.Minute) // within renew_before: a new token
	e.mustRun(t, "session.star", nil)
	second := e.stored(t)
	if first == second || !e.sim.TokenValid(first) || !e.sim.TokenValid(second) {
		t.Fatal("session.star did not leave two live stored tokens")
	}

	e.sim.Recorder().Reset()
	res, err := e.run(t, "offboard.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	p := planText(res)
	if res.Pending() != 4 || strings.Count(p, "would send: DELETE") != 2 || len(nonGET(e)) != 0 {
		t.Fatalf("dry-run: %d pending, sent %v\n%s", res.Pending(), nonGET(e), p)
	}
	if !e.sim.TokenValid(first) || !e.sim.TokenValid(second) {
		t.Fatal("the dry-run revoked a token")
	}

	e.sim.Recorder().Reset()
	e.mustRun(t, "offboard.star", nil)
	if e.sim.TokenValid(first) || e.sim.TokenValid(second) {
		t.Fatal("a stored token is still live")
	}
	if n := e.sim.Recorder().Count(http.MethodPost, loginPath); n != 0 {
		t.Fatalf("offboard logged in %d times", n)
	}
	vs, _ := e.store.Versions(t.Context(), e.srv.URL, storeName)
	for _, v := range vs {
		if v.State != store.Revoked {
			t.Fatalf("version %s is %s, want revoked", v.ID, v.State)
		}
	}

	e.sim.Recorder().Reset()
	e.mustRun(t, "offboard.star", nil)
	if n := len(e.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("the second offboard sent %d requests", n)
	}
	res, err = e.run(t, "offboard.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil || res.Pending() != 0 || !strings.Contains(planText(res), "Plan: no changes.") {
		t.Fatalf("dry-run after offboard: %v", err)
	}
	if len(e.sim.Tokens(sim.DefaultUser)) != 0 {
		t.Fatalf("the user still holds %d tokens", len(e.sim.Tokens(sim.DefaultUser)))
	}
}

// TestCleanupTwiceSendsNothingTheSecondTime: with nothing left to revoke, cleanup.star (which
// authenticates with the stored token) sends only GETs and plans no change.
func TestCleanupTwiceSendsNothingTheSecondTime(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "session.star", nil)
	for i := 0; i < 3; i++ {
		if _, err := e.sim.IssueToken(sim.DefaultUser); err != nil {
			t.Fatal(err)
		}
	}
	if out := e.mustRun(t, "cleanup.star", nil); num(out["revoked"]) != "3" {
		t.Fatalf("first cleanup: %v", out)
	}
	e.sim.Recorder().Reset()
	e.mustRun(t, "cleanup.star", nil)
	if w := nonGET(e); len(w) != 0 {
		t.Fatalf("the second cleanup sent %v", w)
	}
	res, err := e.run(t, "cleanup.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil || res.Pending() != 0 {
		t.Fatalf("dry-run after cleanup: %v\n%s", err, planText(res))
	}
}
