package vcf_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

// currentAndListed returns the stored current version and the simulator's one token.
func (e *env) currentAndListed(t *testing.T) (store.Token, sim.APIToken) {
	t.Helper()
	cur, err := e.store.Get(t.Context(), e.srv.URL, storeName)
	if err != nil {
		t.Fatal(err)
	}
	toks := e.sim.Tokens(realmID)
	if len(toks) != 1 {
		t.Fatalf("the simulator holds %d tokens, want 1", len(toks))
	}
	return cur, toks[0]
}

// VCF gives a regenerated token a new id. Rotation stores it, the next rotation and the
// next onboard work with it, and onboard sees nothing to do.
func TestRotateTwiceFollowsTheRegeneratedID(t *testing.T) {
	e := newEnv(t)
	e.vars["window"] = "7d"
	e.mustRun(t, "onboard.star", nil)
	cur, listed := e.currentAndListed(t)
	ids := []string{listed.ID}
	if cur.Labels["token_id"] != listed.ID {
		t.Fatalf("onboard stored token_id %q, VCF lists %q", cur.Labels["token_id"], listed.ID)
	}
	for round := 1; round <= 2; round++ {
		e.sim.Clock().Advance(25 * 24 * time.Hour)
		out := e.mustRun(t, "rotate.star", nil)
		if got := out["rotated"].([]any); len(got) != 1 {
			t.Fatalf("round %d: rotated %v", round, got)
		}
		cur, listed = e.currentAndListed(t)
		for _, old := range ids {
			if listed.ID == old {
				t.Fatalf("round %d: the simulator kept id %s across a regenerate", round, old)
			}
		}
		ids = append(ids, listed.ID)
		if cur.Labels["token_id"] != listed.ID || cur.Labels["client_id"] != "ci-bot" || !e.sim.TokenSecretValid(cur.Value) {
			t.Fatalf("round %d: stored labels %v (live %v), VCF lists id %s", round, cur.Labels, e.sim.TokenSecretValid(cur.Value), listed.ID)
		}
	}
	// Onboard finds the stored token listed under its new id: nothing to do.
	if out := e.applyNoWrite(t, "onboard.star"); out["token_action"] != "kept" || out["token_id"] != listed.ID {
		t.Fatalf("onboard after rotations = %v", out)
	}
}

// When the new secret fails verification, the old one is already dead: the run says so,
// never "the current one stays in use", and the new secret is kept, pending.
func TestRotateWhoseVerificationFailsSaysTheOldSecretIsDead(t *testing.T) {
	e := newEnv(t)
	e.vars["window"] = "7d"
	e.mustRun(t, "onboard.star", nil)
	old, _ := e.currentAndListed(t)
	// The client loses its roles: its access tokens may read nothing, so verification fails.
	clients := e.sim.APIClients(realmID)
	if len(clients) != 1 {
		t.Fatalf("clients = %+v", clients)
	}
	deleteRoles(t, e, clients[0].ClientUUID)
	e.sim.Clock().Advance(25 * 24 * time.Hour)
	_, err := e.run(t, "rotate.star", nil)
	if err == nil {
		t.Fatal("rotate passed though the new secret cannot read")
	}
	msg := err.Error()
	if strings.Contains(msg, "stays in use") || !strings.Contains(msg, "previous secret no longer works") ||
		!strings.Contains(msg, "stored as pending") || !strings.Contains(msg, "403") {
		t.Fatalf("the failure says:\n%s", msg)
	}
	versions, err := e.store.Versions(t.Context(), e.srv.URL, storeName)
	if err != nil {
		t.Fatal(err)
	}
	_, listed := e.currentAndListed(t)
	var pending *store.Token
	for i, v := range versions {
		if v.State == "pending" {
			pending = &versions[i]
		}
	}
	if pending == nil || pending.Labels["token_id"] != listed.ID || !e.sim.TokenSecretValid(pending.Value) {
		t.Fatalf("no pending version holding the live secret of %s: %+v", listed.ID, versions)
	}
	if e.sim.TokenSecretValid(old.Value) {
		t.Fatal("the first secret still works")
	}
}

// deleteRoles removes every role assignment of a principal, as an administrator would.
func deleteRoles(t *testing.T, e *env, principal string) {
	t.Helper()
	hc := e.srv.Client()
	login, err := hc.Post(e.srv.URL+"/suite-api/api/auth/token/acquire", "application/json",
		strings.NewReader(`{"username":"`+sim.DefaultUser+`","password":"`+sim.DefaultPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer login.Body.Close()
	var ar struct{ Token string }
	if err := json.NewDecoder(login.Body).Decode(&ar); err != nil || ar.Token == "" {
		t.Fatalf("login: %v", err)
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/suite-api/api/fleet-management/iam/ssorealms/"+realmID+"/principals/"+principal+"/roles", nil)
	req.Header.Set("Authorization", "OpsToken "+ar.Token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete roles: HTTP %d", resp.StatusCode)
	}
}
