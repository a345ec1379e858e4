package ops_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/turbonomic/ops"
	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type fixture struct {
	t    *testing.T
	sim  *sim.Sim
	srv  *simkit.Server
	h    *sdktest.Harness
	conn map[string]any
}

func newFixture(t *testing.T, cfg sim.Config) *fixture {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	}
	s := sim.New(cfg)
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h := sdktest.New(t, ops.Plugin(), srv.Client().Transport)
	return &fixture{t: t, sim: s, srv: srv, h: h, conn: map[string]any{"url": srv.URL, "username": sim.DefaultUser, "password": sim.DefaultPassword}}
}

func (f *fixture) call(op string, args map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.h.Call(op, f.conn, args)
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (f *fixture) fail(op string, args map[string]any, code sdk.Code, contains ...string) *sdk.Error {
	f.t.Helper()
	_, err := f.h.Call(op, f.conn, args)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != code {
		f.t.Fatalf("%s: got %v, want %s", op, err, code)
	}
	for _, s := range contains {
		if !strings.Contains(e.Message, s) {
			f.t.Fatalf("%s: error %q does not mention %q", op, e.Message, s)
		}
	}
	return e
}

func (f *fixture) logins() int { return f.sim.Recorder().Count(http.MethodPost, sim.Base+"/login") }

func list(v any) []any { l, _ := v.([]any); return l }

func num(v any) int64 {
	n, _ := v.(int64)
	return n
}

func TestPluginDeclaration(t *testing.T) {
	if err := ops.Plugin().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestVersionOfDefaultAppliance(t *testing.T) {
	f := newFixture(t, sim.Config{})
	v := f.call("version", nil)
	if v["product"] != "Turbonomic" || v["version"] != "8.14.3" || v["base_version"] != "8.14.3" || v["is_xl"] != true || v["platform"] != "xl" || v["snapshot"] != false || num(v["market_version"]) != 2 {
		t.Fatalf("version = %v", v)
	}
	// The version probe is unauthenticated, as vmt-connect's: no login was needed for it.
	if n := f.logins(); n != 0 {
		t.Fatalf("version() logged in %d times, want 0", n)
	}
}

func TestVersionGateRefusesBeforeAnyWrite(t *testing.T) {
	cases := []struct {
		name    string
		version sim.VersionReport
		conn    map[string]any
		code    sdk.Code
		want    string
	}{
		{"old XL", sim.XLVersion("7.20.1"), nil, sdk.CodePermissionDenied, "does not meet vmt-connect's default minimum 7.21+ for XL"},
		{"old Classic", sim.ClassicVersion("6.0.9"), nil, sdk.CodePermissionDenied, "6.1+ for Classic"},
		{"snapshot", sim.XLVersion("8.14.3-SNAPSHOT"), nil, sdk.CodePermissionDenied, "allow_snapshot = True"},
		{"unparsable", sim.VersionReport{VersionInfo: "Welcome to nginx!\n"}, nil, sdk.CodeInvalidArgument, "does not look like Turbonomic Operations Manager"},
		{"two-part release", sim.VersionReport{VersionInfo: "Turbonomic Operations Manager 8.14 (Build \"1\")\n", Version: "8.14"}, nil, sdk.CodeInvalidArgument, "at least three numbers"},
		{"below min_version", sim.XLVersion("8.14.3"), map[string]any{"min_version": "8.15+"}, sdk.CodePermissionDenied, `min_version "8.15+"`},
		{"excluded", sim.XLVersion("8.14.3"), map[string]any{"min_version": "8.0+, !8.14.3"}, sdk.CodePermissionDenied, `term "!8.14.3"`},
		{"bad spec", sim.XLVersion("8.14.3"), map[string]any{"min_version": "eight+"}, sdk.CodeInvalidArgument, "write terms like 7.21+"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			f := newFixture(t, sim.Config{Version: &v})
			for k, v := range tc.conn {
				f.conn[k] = v
			}
			f.fail("create_user", map[string]any{"username": "svc-x", "password": "Svc-Pass-1", "role": "OBSERVER"}, tc.code, tc.want)
			f.fail("add_static_group", map[string]any{"name": "g", "group_type": "VirtualMachine"}, tc.code, tc.want)
			if w := f.sim.Recorder().Writes(); w != 0 {
				t.Fatalf("simulator saw %d writes", w)
			}
			if n := f.logins(); n != 0 {
				t.Fatalf("the password was sent %d times to a refused appliance", n)
			}
			if _, ok := f.sim.UserByName("svc-x"); ok {
				t.Fatal("user created")
			}
		})
	}
}

func TestVersionGateAccepts(t *testing.T) {
	cases := []struct {
		name    string
		version sim.VersionReport
		conn    map[string]any
	}{
		{"classic 6.4", sim.ClassicVersion("6.4.10"), nil},
		{"snapshot allowed", sim.XLVersion("8.14.3-SNAPSHOT"), map[string]any{"allow_snapshot": true}},
		{"old XL deliberately", sim.XLVersion("7.17.2"), map[string]any{"min_version": "7.17.2"}},
		{"range", sim.XLVersion("8.2.5"), map[string]any{"min_version": "8.0-8.14.3, !8.1.2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			f := newFixture(t, sim.Config{Version: &v})
			for k, v := range tc.conn {
				f.conn[k] = v
			}
			f.call("create_user", map[string]any{"username": "svc-x", "password": "Svc-Pass-1", "role": "OBSERVER"})
		})
	}
}

func TestOneLoginPerConnectionAndLogout(t *testing.T) {
	f := newFixture(t, sim.Config{})
	for i := 0; i < 3; i++ {
		f.call("get_users", nil)
	}
	if n := f.logins(); n != 1 {
		t.Fatalf("logged in %d times, want 1", n)
	}
	if n := f.sim.Recorder().Count(http.MethodGet, sim.Base+"/admin/versions"); n != 1 {
		t.Fatalf("asked for the version %d times, want 1 per connection", n)
	}
	var login *sdktest.Exchange
	for _, ex := range f.h.Exchanges() {
		if strings.HasSuffix(ex.URL, "/api/v3/login") {
			login = &ex
			break
		}
	}
	if login == nil || !login.Session || !strings.HasPrefix(login.Header.Get("Content-Type"), "multipart/form-data; boundary=") ||
		!strings.Contains(string(login.Body), `name="username"`) || strings.Contains(login.URL, "password") {
		t.Fatalf("login exchange = %+v", login)
	}
	if f.sim.Sessions() != 1 {
		t.Fatalf("sessions = %d", f.sim.Sessions())
	}
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Recorder().Count(http.MethodPost, sim.Base+"/logout"); n != 1 || f.sim.Sessions() != 0 {
		t.Fatalf("logout sent %d times, %d sessions left", n, f.sim.Sessions())
	}
}

func TestReloginOnceWhenSessionExpires(t *testing.T) {
	f := newFixture(t, sim.Config{SessionTTL: 10 * time.Minute})
	f.call("get_users", nil)
	f.sim.Clock().Advance(11 * time.Minute)
	f.call("get_users", nil)
	if n := f.logins(); n != 2 {
		t.Fatalf("logged in %d times, want 2 (one re-login)", n)
	}
}

func TestCloseWithoutLogoutEndpoint(t *testing.T) {
	f := newFixture(t, sim.Config{NoLogout: true})
	f.call("get_users", nil)
	if err := f.h.Close("c1", f.conn); err != nil {
		t.Fatal(err)
	}
}

func TestBadPasswordIsUnauthenticated(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.conn["password"] = "wrong-password"
	f.fail("get_users", nil, sdk.CodeUnauthenticated, `log in as "administrator"`, "rejected")
	if strings.Contains(f.h.Exchanges()[1].URL, "wrong-password") {
		t.Fatal("password in URL")
	}
}

func TestAuthStringConnects(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.conn = map[string]any{"url": f.srv.URL + "/api/v3/", "auth": base64.StdEncoding.EncodeToString([]byte(sim.DefaultUser + ":" + sim.DefaultPassword))}
	if len(list(f.call("get_users", nil)["users"])) != 1 {
		t.Fatal("want the administrator")
	}
	f.conn["auth"] = "not base64!"
	_, err := f.h.CallConn("c2", "get_users", f.conn, nil)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != sdk.CodeInvalidArgument || e.Param != "auth" || strings.Contains(e.Message, "not base64!") {
		t.Fatalf("got %v", err)
	}
}

func TestEntitiesPageThroughEverything(t *testing.T) {
	f := newFixture(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 2500, "Storage": 7}, PageSize: 100})
	f.sim.Recorder().Reset()
	out := f.call("get_entities", map[string]any{"entity_type": "VirtualMachine"})
	ents := list(out["entities"])
	if len(ents) != 2500 || num(out["total"]) != 2500 || num(out["pages"]) != 25 || out["next_cursor"] != "" {
		t.Fatalf("got %d entities, total %v, pages %v, next %q", len(ents), out["total"], out["pages"], out["next_cursor"])
	}
	if n := f.sim.Recorder().Count(http.MethodGet, sim.Base+"/search"); n != 25 {
		t.Fatalf("sent %d search requests, want 25", n)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		m := e.(map[string]any)
		if m["class_name"] != "VirtualMachine" || seen[m["uuid"].(string)] {
			t.Fatalf("bad or repeated entity %v", m)
		}
		seen[m["uuid"].(string)] = true
	}
}

func TestOnePageAndCursor(t *testing.T) {
	f := newFixture(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 250}, PageSize: 100})
	p1 := f.call("get_entities", map[string]any{"entity_type": "VirtualMachine", "fetch_all": false, "limit": 40})
	if len(list(p1["entities"])) != 40 || p1["next_cursor"] != "40" || num(p1["total"]) != 250 {
		t.Fatalf("page 1 = %d entities, next %v, total %v", len(list(p1["entities"])), p1["next_cursor"], p1["total"])
	}
	rest := f.call("get_entities", map[string]any{"entity_type": "VirtualMachine", "cursor": p1["next_cursor"], "limit": 40})
	if len(list(rest["entities"])) != 210 || num(rest["pages"]) != 6 {
		t.Fatalf("rest = %d entities in %v pages", len(list(rest["entities"])), rest["pages"])
	}
	// A limit over the server's maximum is capped by the server, and paging still completes.
	all := f.call("get_entities", map[string]any{"entity_type": "VirtualMachine", "limit": 1000})
	if len(list(all["entities"])) != 250 {
		t.Fatalf("capped limit: %d entities", len(list(all["entities"])))
	}
}

func TestCursorThatDisappearsIsAnError(t *testing.T) {
	f := newFixture(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 2500}, PageSize: 100})
	f.sim.LoseCursorAt(7)
	e := f.fail("get_entities", map[string]any{"entity_type": "VirtualMachine"}, sdk.CodeUnavailable,
		"stopped paging after 700 of 2500 records", "page 7 came without an x-next-cursor")
	if !e.Retryable {
		t.Fatal("want retryable")
	}
}

func TestUserLifecycle(t *testing.T) {
	f := newFixture(t, sim.Config{})
	u := f.call("create_user", map[string]any{"username": "svc-tokenflow", "password": "Svc-Pass-1", "role": "automator"})
	if u["username"] != "svc-tokenflow" || u["role"] != "AUTOMATOR" || u["uuid"] == "" || u["login_provider"] != "Local" || u["type"] != "DedicatedCustomer" {
		t.Fatalf("created %v", u)
	}
	if _, ok := u["password"]; ok {
		t.Fatal("result holds a password")
	}
	if !f.sim.CheckPassword("svc-tokenflow", "Svc-Pass-1") {
		t.Fatal("simulator does not have the password")
	}
	users := list(f.call("get_users", nil)["users"])
	if len(users) != 2 || users[1].(map[string]any)["username"] != "svc-tokenflow" {
		t.Fatalf("users = %v", users)
	}
	f.fail("create_user", map[string]any{"username": "svc-tokenflow", "password": "x-Pass-2", "role": "OBSERVER"}, sdk.CodeConflict, "already exists")
	f.fail("create_user", map[string]any{"username": "svc-2", "password": "x-Pass-2", "role": "GOD"}, sdk.CodeInvalidArgument, "Invalid role GOD", "IllegalArgumentException")

	chk := f.call("login_check", map[string]any{"username": "svc-tokenflow", "password": "Svc-Pass-1"})
	if chk["uuid"] != u["uuid"] || chk["role"] != "AUTOMATOR" || chk["logged_out"] != true {
		t.Fatalf("login_check = %v", chk)
	}
	if n := f.sim.SessionsOf("svc-tokenflow"); n != 0 {
		t.Fatalf("login_check left %d sessions", n)
	}
	f.fail("login_check", map[string]any{"username": "svc-tokenflow", "password": "wrong"}, sdk.CodeUnauthenticated, `"svc-tokenflow" cannot log in`)

	if d := f.call("delete_user", map[string]any{"uuid": u["uuid"]}); d["deleted"] != true {
		t.Fatalf("delete = %v", d)
	}
	if _, ok := f.sim.UserByName("svc-tokenflow"); ok {
		t.Fatal("still there")
	}
	f.fail("delete_user", map[string]any{"uuid": u["uuid"]}, sdk.CodeNotFound, "not found")
}

func TestObserverCannotCreateUsers(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.sim.AddUser(sim.User{Username: "watcher", Password: "Watch-1-Pass", RoleName: "OBSERVER"})
	f.conn["username"], f.conn["password"] = "watcher", "Watch-1-Pass"
	f.fail("create_user", map[string]any{"username": "x", "password": "Xx-Pass-1", "role": "OBSERVER"}, sdk.CodePermissionDenied, "Access is denied")
}

func TestGroups(t *testing.T) {
	f := newFixture(t, sim.Config{})
	vms := f.sim.Entities("VirtualMachine")
	g := f.call("add_static_group", map[string]any{"name": "tokenflow-pilot", "group_type": "VirtualMachine", "members": []any{vms[0].UUID, vms[1].UUID}})
	if g["display_name"] != "tokenflow-pilot" || len(list(g["member_uuid_list"])) != 2 || g["is_static"] != true {
		t.Fatalf("group = %v", g)
	}
	found := f.call("get_group_by_name", map[string]any{"name": "tokenflow-pilot"})
	if found["uuid"] != g["uuid"] {
		t.Fatalf("found %v", found)
	}
	f.fail("get_group_by_name", map[string]any{"name": "tokenflow"}, sdk.CodeNotFound, `no group named "tokenflow"`)
	add := f.call("add_static_group_members", map[string]any{"uuid": g["uuid"], "members": []any{vms[1].UUID, vms[2].UUID, "999"}})
	if len(list(add["member_uuid_list"])) != 3 || len(list(add["added"])) != 1 || list(add["ignored"])[0] != "999" {
		t.Fatalf("add = %v", add)
	}
	if got := f.sim.Groups()[0].Members; len(got) != 3 {
		t.Fatalf("sim members = %v", got)
	}
	if gs := list(f.call("get_groups", nil)["groups"]); len(gs) != 1 {
		t.Fatalf("groups = %v", gs)
	}
}

func TestTargetsNeverCarrySecrets(t *testing.T) {
	f := newFixture(t, sim.Config{Targets: []sim.Target{{
		UUID: "1", DisplayName: "vc", Category: "Hypervisor", Type: "vCenter", Status: "Validated",
		InputFields: []sim.InputField{{Name: "password", Value: "canary-Target-Pw-42", IsSecret: true}},
	}}})
	out := f.call("get_targets", nil)
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), "canary-Target-Pw-42") || len(list(out["targets"])) != 1 {
		t.Fatalf("targets = %s", b)
	}
}

func TestMarketsAndSearch(t *testing.T) {
	f := newFixture(t, sim.Config{})
	m := list(f.call("get_markets", map[string]any{"uuid": "Market"})["markets"])
	if len(m) != 1 || m[0].(map[string]any)["uuid"] != sim.RealtimeMarketUUID {
		t.Fatalf("markets = %v", m)
	}
	r := list(f.call("search_by_name", map[string]any{"name": "VM-0003", "entity_type": "VirtualMachine"})["results"])
	if len(r) != 1 || r[0].(map[string]any)["display_name"] != "vm-0003" {
		t.Fatalf("search = %v", r)
	}
	r = list(f.call("search_by_name", map[string]any{"name": "VM-0003", "entity_type": "VirtualMachine", "case_sensitive": true})["results"])
	if len(r) != 0 {
		t.Fatalf("case-sensitive search = %v", r)
	}
	all := list(f.call("get_entities", nil)["entities"])
	if len(all) != 63 {
		t.Fatalf("market entities = %d", len(all))
	}
	storage := list(f.call("get_entities", map[string]any{"entity_type": "Storage", "market": sim.RealtimeMarketUUID})["entities"])
	if len(storage) != 8 {
		t.Fatalf("storage = %d", len(storage))
	}
}

func TestServiceUnavailableHonoursRetryAfter(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.sim.Faults().Add(simkit.Fault{Method: http.MethodGet, PathPrefix: sim.Base + "/users", Times: 1, Status: http.StatusServiceUnavailable,
		// Longer than the host waits on its own (30s), so the plugin gets the 503.
		RetryAfter: 45 * time.Second, Body: `{"type":503,"exception":"ServiceUnavailableException","message":"Market is starting"}`})
	e := f.fail("get_users", nil, sdk.CodeUnavailable, "Market is starting", "retry after 45s")
	if !e.Retryable {
		t.Fatal("want retryable")
	}
	f.call("get_users", nil)
}

func TestDryRunHoldsWritesButLogsIn(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.h.DryRun = true
	_, err := f.h.Call("create_user", f.conn, map[string]any{"username": "svc", "password": "Svc-Pass-1", "role": "OBSERVER"})
	if !errors.Is(err, sdktest.Held) {
		t.Fatalf("got %v, want held", err)
	}
	if w := f.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("simulator saw %d writes in a dry-run", w)
	}
	if f.logins() != 1 {
		t.Fatal("the login (a session request) should have been sent")
	}
	// The group update reads the group for real and holds only the PUT.
	f.h.DryRun = false
	g := f.call("add_static_group", map[string]any{"name": "g", "group_type": "VirtualMachine"})
	f.h.DryRun = true
	if _, err := f.h.Call("add_static_group_members", f.conn, map[string]any{"uuid": g["uuid"], "members": []any{"1"}}); !errors.Is(err, sdktest.Held) {
		t.Fatalf("got %v, want held", err)
	}
}

func TestVersionsBehindLogin(t *testing.T) {
	f := newFixture(t, sim.Config{VersionsNeedLogin: true})
	if v := f.call("version", nil); v["version"] != "8.14.3" {
		t.Fatalf("version = %v", v)
	}
	f.call("get_users", nil)
	if n := f.logins(); n != 1 {
		t.Fatalf("logged in %d times, want 1 (the login made for the version serves the rest)", n)
	}
}

func TestNoAPIv3IsAClearError(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.conn["url"] = f.srv.URL + "/vmturbo/rest"
	f.fail("get_users", nil, sdk.CodeInvalidArgument, "has no /api/v3")
}
