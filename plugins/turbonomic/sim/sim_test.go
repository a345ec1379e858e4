package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type client struct {
	t   *testing.T
	s   *Sim
	url string
	hc  *http.Client
}

func start(t *testing.T, cfg Config) *client {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	}
	s := New(cfg)
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	jar, _ := cookiejar.New(nil)
	hc := srv.Client()
	hc.Jar = jar
	return &client{t: t, s: s, url: srv.URL + Base + "/", hc: hc}
}

func (c *client) do(method, path string, body io.Reader, ctype string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// multipartLogin logs in the way vmt-connect does (requests files= with no file names).
func (c *client) multipartLogin(user, pass string) (*http.Response, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("username", user)
	w.WriteField("password", pass)
	w.Close()
	return c.do(http.MethodPost, "login", &buf, w.FormDataContentType())
}

func (c *client) get(path string, out any) *http.Response {
	c.t.Helper()
	resp, data := c.do(http.MethodGet, path, nil, "")
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, data)
		}
	}
	return resp
}

func wantError(t *testing.T, resp *http.Response, data []byte, status int, msg string) {
	t.Helper()
	var e errorBody
	if resp.StatusCode != status || json.Unmarshal(data, &e) != nil || e.Type != status || e.Exception == "" || !strings.Contains(e.Message, msg) {
		t.Fatalf("got %d %s, want %d with an error body mentioning %q", resp.StatusCode, data, status, msg)
	}
}

// TestVMTConnectBootstrap follows what vmt-connect's Connection() does: versions before
// login, multipart login, versions check, markets and markets/Market.
func TestVMTConnectBootstrap(t *testing.T) {
	c := start(t, Config{})
	var v VersionReport
	if resp := c.get("admin/versions", &v); resp.StatusCode != 200 || !strings.HasPrefix(v.VersionInfo, "Turbonomic Operations Manager 8.14.3 (Build \"") ||
		!strings.Contains(v.VersionInfo, "\naction-orchestrator: 8.14.3\n") || v.MarketVersion != 2 {
		t.Fatalf("versions: %d %+v", resp.StatusCode, v)
	}
	resp, data := c.multipartLogin(DefaultUser, DefaultPassword)
	var me userView
	if resp.StatusCode != 200 || json.Unmarshal(data, &me) != nil || me.Username != DefaultUser || me.RoleName != "ADMINISTRATOR" {
		t.Fatalf("login: %d %s", resp.StatusCode, data)
	}
	var jsession *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == CookieName {
			jsession = ck
		}
	}
	if jsession == nil || len(jsession.Value) != 32 || !jsession.HttpOnly {
		t.Fatalf("cookie: %+v", resp.Cookies())
	}
	var markets []market
	c.get("markets?disable_hateoas=true", &markets)
	var rt market
	c.get("markets/Market?disable_hateoas=true", &rt)
	if len(markets) != 1 || rt.UUID != RealtimeMarketUUID {
		t.Fatalf("markets %+v, Market %+v", markets, rt)
	}
	if c.s.Recorder().Writes() != 0 {
		t.Fatal("bootstrap counted as writes")
	}
}

func TestLoginForms(t *testing.T) {
	c := start(t, Config{})
	form := url.Values{"username": {DefaultUser}, "password": {DefaultPassword}}
	if resp, data := c.do(http.MethodPost, "login", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"); resp.StatusCode != 200 {
		t.Fatalf("urlencoded login: %d %s", resp.StatusCode, data)
	}
	resp, data := c.multipartLogin(DefaultUser, "nope")
	wantError(t, resp, data, 401, "invalid username or password")
	resp, data = c.do(http.MethodPost, "login", strings.NewReader(`{"username":"administrator"}`), "application/json")
	wantError(t, resp, data, 415, "not supported")
	resp, data = c.multipartLogin("", "")
	wantError(t, resp, data, 400, "missing")
}

func TestSessionsExpireAndLogout(t *testing.T) {
	c := start(t, Config{SessionTTL: 5 * time.Minute})
	resp, data := c.do(http.MethodGet, "users", nil, "")
	wantError(t, resp, data, 401, "log in first")
	c.multipartLogin(DefaultUser, DefaultPassword)
	if c.get("users", nil).StatusCode != 200 {
		t.Fatal("logged in but refused")
	}
	c.s.Clock().Advance(4 * time.Minute)
	if c.get("users", nil).StatusCode != 200 { // renews the session
		t.Fatal("refused within the idle time")
	}
	c.s.Clock().Advance(4 * time.Minute)
	if c.get("users", nil).StatusCode != 200 {
		t.Fatal("the session was not renewed by use")
	}
	c.s.Clock().Advance(6 * time.Minute)
	resp, data = c.do(http.MethodGet, "users", nil, "")
	wantError(t, resp, data, 401, "expired")
	c.multipartLogin(DefaultUser, DefaultPassword)
	if c.s.Sessions() != 1 {
		t.Fatalf("sessions = %d", c.s.Sessions())
	}
	if resp, _ := c.do(http.MethodPost, "logout", nil, ""); resp.StatusCode != 200 || c.s.Sessions() != 0 {
		t.Fatalf("logout: %d, %d sessions", resp.StatusCode, c.s.Sessions())
	}
}

func TestCursorPaging(t *testing.T) {
	c := start(t, Config{Inventory: map[string]int{"VirtualMachine": 250}, PageSize: 100, MaxPageSize: 120})
	c.multipartLogin(DefaultUser, DefaultPassword)
	var page []Entity
	resp := c.get("search?types=VirtualMachine&disable_hateoas=true", &page)
	if len(page) != 100 || resp.Header.Get(HeaderNextCursor) != "100" || resp.Header.Get(HeaderTotalRecord) != "250" {
		t.Fatalf("page 1: %d items, headers %v", len(page), resp.Header)
	}
	resp = c.get("search?types=VirtualMachine&disable_hateoas=true&cursor=200", &page)
	if len(page) != 50 || resp.Header.Get(HeaderNextCursor) != "" || page[0].DisplayName != "vm-0201" {
		t.Fatalf("last page: %d items, next %q", len(page), resp.Header.Get(HeaderNextCursor))
	}
	resp = c.get("markets/Market/entities?limit=500", &page)
	if len(page) != 120 || resp.Header.Get(HeaderNextCursor) != "120" {
		t.Fatalf("capped: %d items, next %q", len(page), resp.Header.Get(HeaderNextCursor))
	}
	resp, data := c.do(http.MethodGet, "search?types=VirtualMachine&cursor=9999", nil, "")
	wantError(t, resp, data, 400, "Invalid cursor")

	c.s.LoseCursorAt(2)
	c.get("search?types=VirtualMachine", &page)
	resp = c.get("search?types=VirtualMachine&cursor=100", &page)
	if len(page) != 100 || resp.Header.Get(HeaderNextCursor) != "" || resp.Header.Get(HeaderTotalRecord) != "250" {
		t.Fatalf("lost cursor: %d items, headers %v", len(page), resp.Header)
	}
	if resp = c.get("search?types=VirtualMachine&cursor=100", &page); resp.Header.Get(HeaderNextCursor) != "200" {
		t.Fatal("the fault should apply once")
	}
}

func TestUsersAndGroups(t *testing.T) {
	c := start(t, Config{})
	c.multipartLogin(DefaultUser, DefaultPassword)
	body := `{"username":"svc","password":"Svc-Pass-1","roles":[{"name":"observer"}],"type":"DedicatedCustomer","loginProvider":"Local"}`
	resp, data := c.do(http.MethodPost, "users", strings.NewReader(body), "application/json")
	var u userView
	if resp.StatusCode != 200 || json.Unmarshal(data, &u) != nil || u.RoleName != "OBSERVER" || strings.Contains(string(data), "Svc-Pass-1") {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	resp, data = c.do(http.MethodPost, "users", strings.NewReader(body), "application/json")
	wantError(t, resp, data, 400, "already exists")
	resp, data = c.do(http.MethodPost, "users", strings.NewReader(`{"username":"x","password":"p","roleName":"OBSERVER"}`), "application/json")
	wantError(t, resp, data, 400, "No type specified")
	if !c.s.CheckPassword("svc", "Svc-Pass-1") || c.s.Recorder().Writes() != 3 {
		t.Fatalf("writes = %d", c.s.Recorder().Writes())
	}

	vms := c.s.Entities("VirtualMachine")
	g := `{"displayName":"pilot","isStatic":true,"groupType":"VirtualMachine","memberUuidList":["` + vms[0].UUID + `","bogus"]}`
	resp, data = c.do(http.MethodPost, "groups", strings.NewReader(g), "application/json")
	var gv groupView
	if resp.StatusCode != 200 || json.Unmarshal(data, &gv) != nil || len(gv.MemberUUIDList) != 1 {
		t.Fatalf("group: %d %s", resp.StatusCode, data)
	}
	var found []groupView
	c.get("search?types=Group&q=PIL", &found)
	if len(found) != 1 {
		t.Fatalf("contains search: %v", found)
	}
	c.get("search?types=Group&q=PIL&query_type=EXACT", &found)
	if len(found) != 0 {
		t.Fatalf("exact search is case-sensitive: %v", found)
	}

	// The observer may read but not write.
	o := start(t, Config{Users: []User{{Username: "o", Password: "o-Pass-1", RoleName: "OBSERVER"}}})
	o.multipartLogin("o", "o-Pass-1")
	resp, data = o.do(http.MethodPost, "users", strings.NewReader(body), "application/json")
	wantError(t, resp, data, 403, "Access is denied")
	resp, data = o.do(http.MethodDelete, "users/1", nil, "")
	wantError(t, resp, data, 403, "Access is denied")

	// Deleting a user ends its sessions.
	u2 := start(t, Config{})
	u2.multipartLogin(DefaultUser, DefaultPassword)
	uuid := u2.s.AddUser(User{Username: "gone", Password: "Gone-Pass-1", RoleName: "ADVISOR"})
	other := &client{t: t, s: u2.s, url: u2.url, hc: &http.Client{Transport: u2.hc.Transport}}
	other.hc.Jar, _ = cookiejar.New(nil)
	other.multipartLogin("gone", "Gone-Pass-1")
	if u2.s.SessionsOf("gone") != 1 {
		t.Fatal("no session")
	}
	if resp, data := u2.do(http.MethodDelete, "users/"+uuid, nil, ""); resp.StatusCode != 200 || string(bytes.TrimSpace(data)) != "true" {
		t.Fatalf("delete: %d %s", resp.StatusCode, data)
	}
	if u2.s.SessionsOf("gone") != 0 || len(u2.s.Users()) != 1 {
		t.Fatal("sessions or user left")
	}
}

func TestSearchCriteriaAndTargets(t *testing.T) {
	c := start(t, Config{})
	c.multipartLogin(DefaultUser, DefaultPassword)
	dto := `{"className":"VirtualMachine","criteriaList":[{"expType":"EQ","expVal":"VM-0002","caseSensitive":false,"filterType":"vmsByName"}]}`
	resp, data := c.do(http.MethodPost, "search", strings.NewReader(dto), "application/json")
	var es []Entity
	if resp.StatusCode != 200 || json.Unmarshal(data, &es) != nil || len(es) != 1 || es[0].DisplayName != "vm-0002" {
		t.Fatalf("search: %d %s", resp.StatusCode, data)
	}
	if c.s.Recorder().Writes() != 0 {
		t.Fatal("POST search counted as a write")
	}
	var ts []Target
	c.get("targets", &ts)
	if len(ts) != 1 || ts[0].InputFields[2].Value != "" || DefaultTargets[0].InputFields[2].Value == "" {
		t.Fatalf("targets: %+v", ts)
	}
	resp, data = c.do(http.MethodGet, "nonsense", nil, "")
	wantError(t, resp, data, 404, "No endpoint")
}

func TestVersionReports(t *testing.T) {
	c := start(t, Config{Version: func() *VersionReport { v := ClassicVersion("6.4.10"); return &v }()})
	var v VersionReport
	c.get("admin/versions", &v)
	if strings.Contains(v.VersionInfo, "action-orchestrator") || v.Version != "6.4.10" {
		t.Fatalf("classic: %+v", v)
	}
	c.s.SetVersion(XLVersion("8.14.3-SNAPSHOT"))
	c.get("admin/versions", &v)
	if !strings.HasPrefix(v.VersionInfo, "Turbonomic Operations Manager 8.14.3-SNAPSHOT (Build") || v.Branch != "8.14.3" {
		t.Fatalf("snapshot: %+v", v)
	}
}

// vmtConnectLike replays, with Python requests, what vmt-connect's Connection() and Pager send
// (vmtconnect/__init__.py): the unauthenticated version probe, the version regex, the
// multipart login through requests' files= with allow_redirects=False, a requests.Session
// keeping the JSESSIONID cookie, markets and markets/Market, then a cursor walk.
const vmtConnectLike = `
import re, sys, requests
base = sys.argv[1] + "/api/v3/"
s = requests.Session()
v = s.get(base + "admin/versions").json()
m = re.search(r'^.* Manager ([\d.]+)([-\w]+)? \(Build (")?\d+(")?\)', v["versionInfo"])
assert m and len(m.group(1).split(".")) >= 3, v
assert "action-orchestrator: " in v["versionInfo"]
r = s.post(base + "login", files={"username": (None, sys.argv[2]), "password": (None, sys.argv[3])}, allow_redirects=False)
assert r.status_code == 200, r.text
assert "JSESSIONID" in s.cookies
s.get(base + "markets?disable_hateoas=true").raise_for_status()
market = s.get(base + "markets/Market?disable_hateoas=true").json()
assert market["uuid"] == "777777"
r = s.get(base + "search?types=VirtualMachine&disable_hateoas=true")
total, got = int(r.headers.get("x-total-record-count", -1)), len(r.json())
while "x-next-cursor" in r.headers:
    r = s.get(base + "search?types=VirtualMachine&disable_hateoas=true&cursor=" + r.headers["x-next-cursor"])
    got += len(r.json())
assert got == total, (got, total)
print("ok", v["version"], got)
`

func TestPythonRequestsClient(t *testing.T) {
	if exec.Command("python3", "-c", "import requests").Run() != nil {
		t.Skip("python3 with requests not installed")
	}
	c := start(t, Config{Inventory: map[string]int{"VirtualMachine": 130}, PageSize: 50})
	out, err := exec.Command("python3", "-c", vmtConnectLike, strings.TrimSuffix(c.url, Base+"/"), DefaultUser, DefaultPassword).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok 8.14.3 130" {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}
