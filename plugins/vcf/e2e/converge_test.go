package vcf_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

const realmID = "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02" // flt-idb02
const storeName = "vcf/ci-bot/ci-bot-main"

// changes lists the requests the simulator saw that change something: every
// non-GET except the token queries (POST .../query) and logging in and out,
// which only read. It is spelled out here rather than trusting the
// simulator's own classification alone.
func changes(e *env) []string {
	var out []string
	for _, en := range e.sim.Recorder().Entries() {
		p := en.Path
		if en.Method == http.MethodGet || strings.HasSuffix(p, "/query") || strings.HasPrefix(p, "/suite-api/api/auth/token/") {
			continue
		}
		out = append(out, en.Method+" "+p)
	}
	if w := e.sim.Recorder().Writes(); w != len(out) {
		out = append(out, "(the simulator counted a different number of writes)")
	}
	return out
}

func (e *env) mustRun(t *testing.T, flow string, mod func(*engine.Options)) map[string]any {
	t.Helper()
	res, err := e.run(t, flow, mod)
	if err != nil {
		t.Fatalf("%s: %v", flow, err)
	}
	return flowtest.Outputs(res)
}

// applyNoWrite runs flow and fails unless the simulator saw no write.
func (e *env) applyNoWrite(t *testing.T, flow string) map[string]any {
	t.Helper()
	e.sim.Recorder().Reset()
	out := e.mustRun(t, flow, nil)
	if c := changes(e); len(c) != 0 {
		t.Fatalf("a second %s sent writes: %v", flow, c)
	}
	return out
}

// planNothing dry-runs flow and fails unless the plan is empty.
func (e *env) planNothing(t *testing.T, flow string) {
	t.Helper()
	e.sim.Recorder().Reset()
	res, err := e.run(t, flow, func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatalf("%s --dry-run: %v", flow, err)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	if n := res.Pending(); n != 0 || !strings.Contains(plan.String(), "Plan: no changes.") {
		t.Fatalf("%s --dry-run after apply: %d pending\n%s", flow, n, plan.String())
	}
	if c := changes(e); len(c) != 0 {
		t.Fatalf("dry-run sent writes: %v", c)
	}
}

func TestOnboardTwiceSendsNoWriteAndPlansNothing(t *testing.T) {
	e := newEnv(t)
	first := e.mustRun(t, "onboard.star", nil)
	if first["client_created"] != true || first["token_action"] != "issued" || !slices.Equal(first["roles_added"].([]any), []any{"vcf_viewer"}) {
		t.Fatalf("first run outputs = %v", first)
	}
	stored, _ := e.store.Get(t.Context(), e.srv.URL, storeName)

	second := e.applyNoWrite(t, "onboard.star")
	if second["client_created"] != false || second["token_action"] != "kept" || len(second["roles_added"].([]any)) != 0 {
		t.Fatalf("second run outputs = %v", second)
	}
	if second["client_uuid"] != first["client_uuid"] || second["token_id"] != first["token_id"] || second["expires_at"] != first["expires_at"] {
		t.Fatalf("second run reports other objects: %v vs %v", second, first)
	}
	versions, _ := e.store.Versions(t.Context(), e.srv.URL, storeName)
	if len(versions) != 1 || versions[0].Value != stored.Value || !e.sim.TokenSecretValid(stored.Value) {
		t.Fatalf("the store changed: %d versions", len(versions))
	}
	e.planNothing(t, "onboard.star")
	if n := len(e.sim.Tokens(realmID)); n != 1 {
		t.Fatalf("%d tokens on the simulator, want 1", n)
	}
}

// TestOnboardDryRunExitsZeroAfterApply runs the tokenflow binary: a dry-run
// after an apply exits 0 and says there is nothing to change.
func TestOnboardDryRunExitsZeroAfterApply(t *testing.T) {
	e := newEnv(t)
	// The binary's clock is the wall clock: the simulator's must be too, or
	// every token looks expired to the flow.
	e.sim = sim.New(sim.Config{Clock: simkit.NewRealClock()})
	e.srv, e.vars["ca_file"] = flowtest.ServeTLS(t, e.sim.Handler())
	e.sim.SetAdvertisedHost(strings.TrimPrefix(e.srv.URL, "https://"))
	e.vars["url"] = e.srv.URL
	c := newCLI(t, e)
	out, _, err := c.run(c.flow("onboard.star", "--dry-run")...)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("dry-run before apply: %v, want exit 2\n%s", err, out)
	}
	if out, _, err := c.run(c.flow("onboard.star")...); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if out, _, err := c.run(c.flow("onboard.star")...); err != nil {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	e.sim.Recorder().Reset()
	out, _, err = c.run(c.flow("onboard.star", "--dry-run")...)
	if err != nil || !strings.Contains(out, "Plan: no changes.") {
		t.Fatalf("dry-run after apply: %v, want exit 0 and no changes\n%s", err, out)
	}
	if w := changes(e); len(w) != 0 {
		t.Fatalf("writes: %v", w)
	}
}

func TestOnboardAddsOnlyMissingRolesAndKeepsOthers(t *testing.T) {
	e := newEnv(t)
	e.vars["role"] = "vcf_auditor"
	out := e.mustRun(t, "onboard.star", nil)
	uuid := out["client_uuid"].(string)

	e.vars["role"] = "vcf_auditor,vcf_viewer"
	e.sim.Recorder().Reset()
	out = e.mustRun(t, "onboard.star", nil)
	if got := changes(e); !slices.Equal(got, []string{"PUT /suite-api/api/fleet-management/iam/ssorealms/" + realmID + "/principals/" + uuid + "/roles"}) {
		t.Fatalf("writes = %v, want the one role PUT", got)
	}
	if !slices.Equal(out["roles_added"].([]any), []any{"vcf_viewer"}) || out["token_action"] != "kept" {
		t.Fatalf("outputs = %v", out)
	}
	var names []string
	for _, r := range e.sim.RoleAssignments(realmID, uuid) {
		names = append(names, r.RoleName)
	}
	if !slices.Equal(names, []string{"vcf_auditor", "vcf_viewer"}) {
		t.Fatalf("roles = %v, want the auditor role kept and the viewer role added", names)
	}
	// Fewer roles asked for than held: onboarding only adds, so nothing changes.
	e.vars["role"] = "vcf_viewer"
	e.applyNoWrite(t, "onboard.star")
}

func TestHalfAppliedOnboardIsFixedByRerun(t *testing.T) {
	e := newEnv(t)
	e.vars["role"] = "vcf_superuser" // not a VCF role: assign_roles fails after the client exists
	_, err := e.run(t, "onboard.star", nil)
	if err == nil || !strings.Contains(err.Error(), "assign_roles") || !strings.Contains(err.Error(), "vcf_superuser") {
		t.Fatalf("got %v, want assign_roles to fail naming the role", err)
	}
	if n := len(e.sim.APIClients(realmID)); n != 1 {
		t.Fatalf("%d clients after the failed run, want the 1 it created", n)
	}

	e.vars["role"] = "vcf_viewer"
	e.sim.Recorder().Reset()
	out := e.mustRun(t, "onboard.star", nil)
	got := changes(e)
	if len(got) != 2 || !strings.HasPrefix(got[0], "PUT ") || !strings.HasSuffix(got[1], "/api-tokens") {
		t.Fatalf("writes of the corrected run = %v, want the role PUT and the token POST (no second client)", got)
	}
	if out["client_created"] != false || out["token_action"] != "issued" {
		t.Fatalf("outputs = %v", out)
	}
	if n := len(e.sim.APIClients(realmID)); n != 1 {
		t.Fatalf("%d clients, want 1", n)
	}
	e.applyNoWrite(t, "onboard.star")
	e.planNothing(t, "onboard.star")
}

func TestOnboardRegeneratesATokenWhoseSecretIsLost(t *testing.T) {
	e := newEnv(t)
	var log bytes.Buffer
	first := e.mustRun(t, "onboard.star", nil)
	if err := e.store.Delete(t.Context(), e.srv.URL, storeName); err != nil {
		t.Fatal(err)
	}
	e.sim.Recorder().Reset()
	out := e.mustRun(t, "onboard.star", func(o *engine.Options) { o.Log = &log })
	want := "POST /suite-api/api/fleet-management/iam/ssorealms/" + realmID + "/api-tokens/" + first["token_id"].(string) + "/regenerate"
	if got := changes(e); !slices.Equal(got, []string{want}) {
		t.Fatalf("writes = %v, want only %s", got, want)
	}
	// VCF gives the regenerated token a new id; the output and the store carry it.
	listed := e.sim.Tokens(realmID)
	if out["token_action"] != "regenerated" || out["token_id"] == first["token_id"] || len(listed) != 1 || out["token_id"] != listed[0].ID {
		t.Fatalf("outputs = %v, VCF lists %+v", out, listed)
	}
	if !strings.Contains(log.String(), "secret only once") {
		t.Fatalf("the run did not say why it regenerated:\n%s", log.String())
	}
	tok, err := e.store.Get(t.Context(), e.srv.URL, storeName)
	if err != nil || !e.sim.TokenSecretValid(tok.Value) {
		t.Fatalf("stored token not live: %v", err)
	}
	if strings.Contains(log.String(), tok.Value) {
		t.Fatal("the log shows the token")
	}
	e.applyNoWrite(t, "onboard.star")
}

func TestOnboardRenewsATokenExpiringWithinTheWindow(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, "onboard.star", nil)
	old, _ := e.store.Get(t.Context(), e.srv.URL, storeName)

	e.sim.Clock().Advance(22 * 24 * time.Hour) // 8 days left: outside the 7-day window
	e.applyNoWrite(t, "onboard.star")

	e.sim.Clock().Advance(2 * 24 * time.Hour) // 6 days left
	e.sim.Recorder().Reset()
	out := e.mustRun(t, "onboard.star", nil)
	if got := changes(e); len(got) != 1 || !strings.HasSuffix(got[0], "/regenerate") {
		t.Fatalf("writes = %v, want one regenerate", got)
	}
	cur, _ := e.store.Get(t.Context(), e.srv.URL, storeName)
	if out["token_action"] != "regenerated" || cur.Value == old.Value || !e.sim.TokenSecretValid(cur.Value) {
		t.Fatalf("outputs = %v; stored token replaced: %v", out, cur.Value != old.Value)
	}
	if want := e.sim.Clock().Now().Add(30 * 24 * time.Hour); !cur.ExpiresAt.Equal(want) {
		t.Fatalf("stored expiry %v, want %v", cur.ExpiresAt, want)
	}
	e.applyNoWrite(t, "onboard.star")
}

// deleteTokenAtVendor deletes an API token behind tokenflow's back, as an
// administrator in the VCF UI would.
func deleteTokenAtVendor(t *testing.T, e *env, tokenID string) {
	t.Helper()
	client := e.srv.Client()
	body, _ := json.Marshal(map[string]string{"username": sim.DefaultUser, "password": sim.DefaultPassword})
	resp, err := client.Post(e.srv.URL+"/suite-api/api/auth/token/acquire", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/suite-api/api/fleet-management/iam/ssorealms/"+realmID+"/api-tokens/"+tokenID, nil)
	req.Header.Set("Authorization", "OpsToken "+login.Token)
	resp, err = client.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete token at the vendor: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestOnboardIssuesAgainWhenTheVendorDroppedTheToken(t *testing.T) {
	e := newEnv(t)
	first := e.mustRun(t, "onboard.star", nil)
	deleteTokenAtVendor(t, e, first["token_id"].(string))
	e.sim.Recorder().Reset()
	out := e.mustRun(t, "onboard.star", nil)
	if got := changes(e); len(got) != 1 || !strings.HasSuffix(got[0], "/api-tokens") {
		t.Fatalf("writes = %v, want one token POST", got)
	}
	tok, _ := e.store.Get(t.Context(), e.srv.URL, storeName)
	if out["token_action"] != "issued" || out["token_id"] == first["token_id"] || !e.sim.TokenSecretValid(tok.Value) {
		t.Fatalf("outputs = %v", out)
	}
}

func TestOffboardPlansThenRemovesAndConverges(t *testing.T) {
	e := newEnv(t)
	on := e.mustRun(t, "onboard.star", nil)
	uuid := on["client_uuid"].(string)

	e.sim.Recorder().Reset()
	res, err := e.run(t, "offboard.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	prefix := "would send: DELETE " + e.srv.URL + "/suite-api/api/fleet-management/iam/ssorealms/" + realmID
	for _, want := range []string{
		prefix + "/api-tokens/" + on["token_id"].(string),
		prefix + "/principals/" + uuid + "/roles",
		prefix + "/api-clients/ci-bot",
		"would mark version",
		"4 change(s) pending",
	} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("offboard plan lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatal(plan.String())
	}
	if c := changes(e); len(c) != 0 || len(e.sim.APIClients(realmID)) != 1 {
		t.Fatalf("the offboard dry-run changed something: %v", c)
	}

	out := e.mustRun(t, "offboard.star", nil)
	if out["client_deleted"] != true || out["roles_removed"] != true || !slices.Equal(out["tokens_deleted"].([]any), []any{"ci-bot-main"}) {
		t.Fatalf("offboard outputs = %v", out)
	}
	if len(e.sim.APIClients(realmID)) != 0 || len(e.sim.Tokens(realmID)) != 0 {
		t.Fatal("the client or its tokens are still on the simulator")
	}
	versions, _ := e.store.Versions(t.Context(), e.srv.URL, storeName)
	if len(versions) != 1 || versions[0].State != store.Revoked {
		t.Fatalf("stored versions after offboard: %+v", states(versions))
	}

	again := e.applyNoWrite(t, "offboard.star")
	if again["client_deleted"] != false || len(again["store_revoked"].([]any)) != 0 {
		t.Fatalf("second offboard outputs = %v", again)
	}
	e.planNothing(t, "offboard.star")

	// Onboarding again after an offboard starts from scratch.
	back := e.mustRun(t, "onboard.star", nil)
	if back["client_created"] != true || back["token_action"] != "issued" {
		t.Fatalf("onboard after offboard: %v", back)
	}
}
