package hyperflex

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
)

// storeName is where token.star keeps the admin's access token for the env's cluster.
func (e *env) storeName() string {
	return "hyperflex/" + strings.TrimPrefix(e.url, "https://") + "/admin"
}

// dryRun runs a flow with --dry-run and returns the result and its plan text.
func (e *env) dryRun(flow string) (*engine.Result, string) {
	e.t.Helper()
	o := e.opts(nil)
	o.DryRun = true
	res, err := e.runOpts(flow, o)
	if err != nil {
		e.t.Fatalf("%s --dry-run: %v", flow, err)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	return res, plan.String()
}

// noWrite runs a flow and fails unless the cluster saw no write.
func (e *env) noWrite(flow string) map[string]any {
	e.t.Helper()
	e.sim.Recorder().Reset()
	out := e.mustRun(flow, nil)
	if w := e.sim.Recorder().Writes(); w != 0 {
		e.t.Fatalf("rerunning %s sent %d writes: %+v", flow, w, e.sim.Recorder().Entries())
	}
	return out
}

// planNothing fails unless a dry-run of flow plans no change and sends no write.
func (e *env) planNothing(flow string) {
	e.t.Helper()
	e.sim.Recorder().Reset()
	res, plan := e.dryRun(flow)
	if res.Pending() != 0 || !strings.Contains(plan, "Plan: no changes.") {
		e.t.Fatalf("dry-run of %s after an apply: %d pending\n%s", flow, res.Pending(), plan)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		e.t.Fatalf("the dry-run of %s sent %d writes", flow, w)
	}
}

func TestTokenTwiceSendsNoWriteAndPlansNothing(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	before, _ := os.ReadFile(e.tokenFile)
	e.sim.Clock().Advance(time.Minute)
	if out := e.noWrite("token.star"); out["action"] != "reused" {
		t.Fatalf("second run: %v", out)
	}
	if after, _ := os.ReadFile(e.tokenFile); !bytes.Equal(before, after) {
		t.Fatal("the second run rewrote the token file")
	}
	e.planNothing("token.star")
	if vs, _ := e.store.Versions(context.Background(), e.url, e.storeName()); len(vs) != 1 {
		t.Fatalf("%d stored versions, want 1", len(vs))
	}
}

// TestTokenBringsAStaleStoreInLine: the file holds another pair than the store (the Python tool
// refreshed it); the rerun stores the file's pair without a write at the cluster, and then plans
// nothing.
func TestTokenBringsAStaleStoreInLine(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	f := e.readTokenFile()
	// Refresh the pair outside tokenflow, as the Python tool would, and write its file.
	os.Remove(e.tokenFile)
	e.mustRun("token.star", nil) // a new login; the store moves to the new pair
	newer := e.readTokenFile()
	if err := e.store.Put(context.Background(), store.Token{Name: e.storeName(), Target: e.url, Value: f.AccessToken, Vendor: "hyperflex"}); err != nil {
		t.Fatal(err)
	}
	_, plan := e.dryRun("token.star")
	if !strings.Contains(plan, "would store token") {
		t.Fatalf("the dry-run does not plan to store the file's pair:\n%s", plan)
	}
	e.noWrite("token.star")
	cur, err := e.store.Get(context.Background(), e.url, e.storeName())
	if err != nil || cur.Value != newer.AccessToken {
		t.Fatalf("the store does not hold the file's pair: %v", err)
	}
	e.planNothing("token.star")
}

func TestOffboardPlansRevokesAndConverges(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	f := e.readTokenFile()

	// Planned first: the revoke and the store changes are held.
	e.sim.Recorder().Reset()
	res, plan := e.dryRun("offboard.star")
	if res.Pending() < 3 || !strings.Contains(plan, "would send: POST "+e.url+sim.RevokePath) {
		t.Fatalf("dry-run: %d pending\n%s", res.Pending(), plan)
	}
	if e.sim.Recorder().Writes() != 0 || !e.sim.RefreshTokenValid(f.RefreshToken) {
		t.Fatal("the dry-run revoked")
	}

	out := e.mustRun("offboard.star", nil)
	if e.sim.RefreshTokenValid(f.RefreshToken) || e.sim.AccessTokenValid(f.AccessToken, "READ") {
		t.Fatal("the pair is still live after offboard")
	}
	if n := e.count(sim.RevokePath); n != 1 {
		t.Fatalf("%d revokes, want 1 (the file's pair is the stored one)", n)
	}
	if out["token_file_left"] != true {
		t.Fatalf("outputs %v", out)
	}
	for _, n := range []string{e.storeName(), e.storeName() + "/refresh_token"} {
		vs, _ := e.store.Versions(context.Background(), e.url, n)
		if len(vs) != 1 || vs[0].State != store.Revoked {
			t.Fatalf("%s versions %+v, want one revoked", n, vs)
		}
	}

	if out := e.noWrite("offboard.star"); len(out["revoked"].([]any)) != 0 {
		t.Fatalf("second offboard revoked %v", out["revoked"])
	}
	e.planNothing("offboard.star")
	// After offboard, token.star starts over with one login.
	if out := e.mustRun("token.star", nil); out["action"] != "obtained" {
		t.Fatalf("token.star after offboard: %v", out)
	}
}

// TestOffboardRevokesAPairOnlyTheFileKnows: a token file from the Python tool, a store that never
// saw it: the pair is revoked once and recorded, so a second offboard sends nothing.
func TestOffboardRevokesAPairOnlyTheFileKnows(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.mustRun("token.star", nil)
	f := e.readTokenFile()
	e.store = store.NewMemory(e.sim.Clock().Now)

	e.mustRun("offboard.star", nil)
	if e.sim.RefreshTokenValid(f.RefreshToken) {
		t.Fatal("the file's pair is still live")
	}
	vs, _ := e.store.Versions(context.Background(), e.url, e.storeName())
	if len(vs) != 1 || vs[0].State != store.Revoked {
		t.Fatalf("versions %+v, want the file's pair recorded as revoked", vs)
	}
	e.noWrite("offboard.star")
	e.planNothing("offboard.star")
}
