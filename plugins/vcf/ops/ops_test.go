package ops_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/vcf/ops"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type fixture struct {
	t    *testing.T
	sim  *sim.Sim
	h    *sdktest.Harness
	conn map[string]any
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	s := sim.New(sim.Config{Clock: clock})
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h := sdktest.New(t, ops.Plugin(), srv.Client().Transport)
	return &fixture{t: t, sim: s, h: h, conn: map[string]any{"url": srv.URL, "username": sim.DefaultUser, "password": sim.DefaultPassword}}
}

func (f *fixture) call(op string, args map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.h.Call(op, f.conn, args)
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (f *fixture) realm() string {
	return f.call("find_realm", map[string]any{"name": "flt-idb02"})["id"].(string)
}

func TestPluginDeclaration(t *testing.T) {
	if err := ops.Plugin().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestOnboardingOps(t *testing.T) {
	f := newFixture(t)
	realm := f.realm()
	client := f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "ci-bot", "client_name": "CI"})
	if client["client_id"] != "ci-bot" || client["client_uuid"] == "" {
		t.Fatalf("client = %v", client)
	}
	_, err := f.h.Call("create_api_client", f.conn, map[string]any{"realm_id": realm, "client_id": "ci-bot", "client_name": "CI"})
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != sdk.CodeConflict {
		t.Fatalf("duplicate client: got %v, want conflict", err)
	}
	roles := []any{map[string]any{"role_name": "vcf_viewer", "scope_type": "SSO_REALM"}}
	f.call("assign_roles", map[string]any{"realm_id": realm, "principal_id": client["client_uuid"], "roles": roles})
	if got := f.sim.RoleAssignments(realm, client["client_uuid"].(string)); len(got) != 1 || got[0].RoleName != "vcf_viewer" {
		t.Fatalf("sim roles = %+v", got)
	}
	tok := f.call("issue_token", map[string]any{"realm_id": realm, "api_client_id": "ci-bot", "token_name": "main", "api_token_ttl": "720h0m0s"})
	secret, _ := tok["token"].(string)
	if !f.sim.TokenSecretValid(secret) {
		t.Fatalf("issued token not live on the simulator: %v", tok)
	}
	exp, err := time.Parse(time.RFC3339, tok["expiration_date"].(string))
	if err != nil || !exp.Equal(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("expiration_date = %v (%v), want 30 days after the sim clock", tok["expiration_date"], err)
	}
	got := f.call("get_token", map[string]any{"realm_id": realm, "token_id": tok["id"]})
	if _, ok := got["token"]; ok {
		t.Fatal("get_token returned the secret")
	}
	regen := f.call("regenerate_token", map[string]any{"realm_id": realm, "token_id": tok["id"]})
	if regen["token"] == secret || f.sim.TokenSecretValid(secret) || !f.sim.TokenSecretValid(regen["token"].(string)) {
		t.Fatal("regenerate did not replace the secret")
	}
	// VCF gives the regenerated token a new id; the old one is gone.
	if regen["id"] == tok["id"] {
		t.Fatal("regenerate kept the token id")
	}
	_, err = f.h.Call("get_token", f.conn, map[string]any{"realm_id": realm, "token_id": tok["id"]})
	if !errors.As(err, &e) || e.Code != sdk.CodeNotFound {
		t.Fatalf("the id before the regenerate: got %v, want not_found", err)
	}
	f.call("delete_token", map[string]any{"realm_id": realm, "token_id": regen["id"]})
	_, err = f.h.Call("get_token", f.conn, map[string]any{"realm_id": realm, "token_id": regen["id"]})
	if !errors.As(err, &e) || e.Code != sdk.CodeNotFound {
		t.Fatalf("deleted token: got %v, want not_found", err)
	}
}

func TestOneLoginPerConnection(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		f.realm()
	}
	if n := f.sim.Recorder().Count(http.MethodPost, "/suite-api/api/auth/token/acquire"); n != 1 {
		t.Fatalf("acquire sent %d times, want 1", n)
	}
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Recorder().Count(http.MethodPost, "/suite-api/api/auth/token/release"); n != 1 {
		t.Fatalf("release sent %d times, want 1", n)
	}
}

func TestReloginOnceWhenOpsTokenExpires(t *testing.T) {
	f := newFixture(t)
	f.realm()
	f.sim.Clock().Advance(7 * time.Hour) // past the 6h OpsToken lifetime
	f.realm()
	if n := f.sim.Recorder().Count(http.MethodPost, "/suite-api/api/auth/token/acquire"); n != 2 {
		t.Fatalf("acquire sent %d times, want 2 (one re-login)", n)
	}
}

func TestBadPasswordIsUnauthenticated(t *testing.T) {
	f := newFixture(t)
	f.conn["password"] = "wrong-password"
	_, err := f.h.Call("list_realms", f.conn, nil)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != sdk.CodeUnauthenticated || !strings.Contains(e.Message, "rejected") {
		t.Fatalf("got %v, want unauthenticated", err)
	}
}

func TestTTLBoundsCheckedBeforeSending(t *testing.T) {
	f := newFixture(t)
	realm := f.realm()
	f.sim.Recorder().Reset()
	for _, ttl := range []string{"4344h0m0s", "672h0m30s"} { // 181 days; 28 days and 30 s
		_, err := f.h.Call("issue_token", f.conn, map[string]any{"realm_id": realm, "api_client_id": "x", "token_name": "t", "api_token_ttl": ttl})
		var e *sdk.Error
		if !errors.As(err, &e) || e.Code != sdk.CodeInvalidArgument || e.Param != "api_token_ttl" {
			t.Fatalf("%s: got %v, want invalid api_token_ttl", ttl, err)
		}
	}
	if n := f.sim.Recorder().Count("", "/suite-api/api/fleet-management"); n != 0 {
		t.Fatalf("sent %d requests for an invalid TTL", n)
	}
}

func TestQueryTokensPagesThroughEverything(t *testing.T) {
	f := newFixture(t)
	realm := f.realm()
	f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "bulk", "client_name": "Bulk"})
	for i := 0; i < 23; i++ {
		f.call("issue_token", map[string]any{"realm_id": realm, "api_client_id": "bulk", "token_name": "t" + string(rune('a'+i))})
	}
	f.sim.Recorder().Reset()
	out := f.call("query_tokens", map[string]any{"realm_id": realm, "client_id": "bulk", "page_size": 10})
	if n := len(out["tokens"].([]any)); n != 23 {
		t.Fatalf("got %d tokens, want 23", n)
	}
	if n := f.sim.Recorder().Count(http.MethodPost, "/suite-api/api/fleet-management/iam/ssorealms/"+realm+"/api-tokens/query"); n != 3 {
		t.Fatalf("sent %d query pages, want 3", n)
	}
	for _, tk := range out["tokens"].([]any) {
		if _, ok := tk.(map[string]any)["token"]; ok {
			t.Fatal("query returned a secret")
		}
	}
}

func TestDryRunHoldsWritesButLogsIn(t *testing.T) {
	f := newFixture(t)
	f.h.DryRun = true
	realm := f.realm()
	_, err := f.h.Call("create_api_client", f.conn, map[string]any{"realm_id": realm, "client_id": "x", "client_name": "X"})
	if !errors.Is(err, sdktest.Held) {
		t.Fatalf("got %v, want held", err)
	}
	if w := f.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("simulator saw %d writes in a dry-run", w)
	}
}
