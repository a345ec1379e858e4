package ops_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops"
	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// canaryKey is the key of the test user: it must never show up on the wire,
// in an error or anywhere the plugin writes.
const (
	canaryEmail = "ci-bot@example.com"
	canaryKey   = "CANARY-vigiles-key-9f3b7d21e5c8"
)

type fixture struct {
	t    *testing.T
	sim  *sim.Sim
	srv  *simkit.Server
	h    *sdktest.Harness
	rt   *tamper
	conn map[string]any
}

// tamper forwards requests to the simulator, optionally changing one byte
// of each on the way.
type tamper struct {
	next http.RoundTripper
	mode atomic.Value // "", "query", "body", "signature"
}

func (tp *tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	mode, _ := tp.mode.Load().(string)
	switch mode {
	case "query":
		q := []byte(r.URL.RawQuery)
		i := bytes.LastIndexByte(q, '=') + 1 // flip the first byte of the last value, or the "=" itself
		if i >= len(q) {
			i--
		}
		q[i] ^= 0x01
		r.URL.RawQuery = string(q)
	case "body":
		b, _ := io.ReadAll(r.Body)
		i := bytes.LastIndexByte(b, '=')
		b[i-1] ^= 0x01 // a byte of the last parameter's name
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	case "signature":
		s := []byte(r.Header.Get("X-Auth-Signature"))
		s[10] ^= 0x01
		r.Header.Set("X-Auth-Signature", string(s))
	}
	return tp.next.RoundTrip(r)
}

func keyFile(email, key string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "key": key})
	return string(b)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := sim.New(sim.Config{
		Clock: simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)),
		Users: map[string]string{canaryEmail: canaryKey, sim.DefaultEmail: sim.DefaultKey},
	})
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rt := &tamper{next: srv.Client().Transport}
	f := &fixture{t: t, sim: s, srv: srv, rt: rt, h: sdktest.New(t, ops.Plugin(), rt)}
	f.conn = map[string]any{"url": srv.URL, "key_file": keyFile(canaryEmail, canaryKey), "product": sim.DefaultProductToken}
	t.Cleanup(f.assertNoLeak)
	return f
}

func (f *fixture) call(op string, args map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.h.Call(op, f.conn, args)
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (f *fixture) fail(op string, args map[string]any, code sdk.Code) *sdk.Error {
	f.t.Helper()
	_, err := f.h.Call(op, f.conn, args)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != code {
		f.t.Fatalf("%s: got %v, want %s", op, err, code)
	}
	assertNoCanary(f.t, "error of "+op, e.Error())
	return e
}

// assertNoLeak checks every exchange the plugin sent for the key.
func (f *fixture) assertNoLeak() {
	for _, ex := range f.h.Exchanges() {
		text := ex.Method + " " + ex.URL + "\n" + string(ex.Body)
		for name, vs := range ex.Header {
			text += "\n" + name + ": " + strings.Join(vs, ",")
		}
		assertNoCanary(f.t, "exchange", text)
	}
}

func assertNoCanary(t *testing.T, where, s string) {
	t.Helper()
	for _, form := range []string{canaryKey, base64.StdEncoding.EncodeToString([]byte(canaryKey)), url.QueryEscape(canaryKey), "9f3b7d21e5c8"} {
		if strings.Contains(s, form) {
			t.Errorf("%s holds the key (%q): %s", where, form, s)
		}
	}
}

func readManifest(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func num(v any) int64 {
	n, _ := v.(json.Number).Int64()
	return n
}

func TestPluginDeclaration(t *testing.T) {
	if err := ops.Plugin().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatIsTheReadmeExample(t *testing.T) {
	f := newFixture(t)
	f.conn["key_file"] = keyFile(sim.DefaultEmail, sim.DefaultKey)
	out := f.call("heartbeat", nil)
	if out["ok"] != true || out["email"] != sim.DefaultEmail {
		t.Fatalf("heartbeat = %v", out)
	}
	ex := f.h.Exchanges()[0]
	// POST/api/v1/heartbeatemail=user@example.com signed with sim.DefaultKey,
	// computed once with Python's hmac and base64.
	const want = "POJzpvsnkNF7YOO3/QApEEQC//9VChkpRoYwcMXAvRQ="
	if ex.Method != "POST" || !strings.HasSuffix(ex.URL, "/api/v1/heartbeat") || string(ex.Body) != "email=user%40example.com" ||
		ex.Header.Get("X-Auth-Signature") != want || ex.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("heartbeat request = %s %s %q %v", ex.Method, ex.URL, ex.Body, ex.Header)
	}
}

func TestEveryOpAgainstTheSimulator(t *testing.T) {
	f := newFixture(t)
	f.call("heartbeat", nil)

	products := f.call("list_products", nil)["products"].([]any)
	if len(products) != 2 {
		t.Fatalf("products = %v", products)
	}
	p := f.call("create_product", map[string]any{"name": "Büro Gateway ☃", "desc": "a + b & c = d"})
	if p["name"] != "Büro Gateway ☃" || p["description"] != "a + b & c = d" || p["token"] == "" {
		t.Fatalf("created %v", p)
	}

	folders := f.call("list_folders", nil)["folders"].([]any) // the connection's product
	if len(folders) != 1 || folders[0].(map[string]any)["folder_token"] != sim.DefaultFolderToken {
		t.Fatalf("folders = %v", folders)
	}
	if got := f.call("list_folders", map[string]any{"product_token": p["token"]})["folders"].([]any); len(got) != 0 {
		t.Fatalf("new product's folders = %v", got)
	}

	up := f.call("upload_manifest", map[string]any{
		"manifest": readManifest(t, "manifest.json"), "folder_token": sim.DefaultFolderToken,
		"subfolder_name": "nightly 2026-06-01", "manifest_name": "gw nightly",
		"extra_fields": []any{"references", "description"},
	})
	tok := up["manifest_token"].(string)
	if up["manifest_name"] != "gw nightly" || up["product_token"] != sim.DefaultProductToken || up["report_token"] == "" ||
		!strings.HasPrefix(up["report_url"].(string), f.srv.URL+"/vigiles/reports/") {
		t.Fatalf("upload = %v", up)
	}
	if num(up["critical"]) != 2 || num(up["high"]) != 6 || num(up["medium"]) != 2 || num(up["low"]) != 0 ||
		num(up["unfixed"]) != 9 || num(up["unapplied"]) != 1 || num(up["fixed"]) != 1 {
		t.Fatalf("upload counts = %v", up)
	}

	rep := f.call("latest_report", map[string]any{"manifest_token": tok, "filter_results": true})
	if rep["report_token"] != up["report_token"] || num(rep["critical"]) != 2 {
		t.Fatalf("latest report = %v", rep)
	}
	var crit []string
	for _, c := range rep["cves"].([]any) {
		c := c.(map[string]any)
		if c["severity"] == "critical" && c["open"] == true {
			crit = append(crit, c["package"].(string)+":"+c["cve_id"].(string))
		}
		if c["cve_id"] == "CVE-2022-3602" && (c["open"] != false || c["status"] != "Fixed") {
			t.Errorf("patched CVE = %v", c)
		}
	}
	if strings.Join(crit, ",") != "openssl:CVE-2022-1292,zlib:CVE-2022-37434" {
		t.Errorf("critical CVEs = %v", crit)
	}
	if counts := rep["counts"].(map[string]any); counts["cvss_counts"] == nil {
		t.Errorf("counts = %v", counts)
	}

	m := f.sim.Manifests()
	if len(m) != 1 || m[0].FolderToken == sim.DefaultFolderToken { // went into the new subfolder
		t.Fatalf("sim manifests = %+v", m)
	}
	for _, args := range []map[string]any{nil, {"folder_token": m[0].FolderToken}, {"product_token": sim.DefaultProductToken}} {
		if got := f.call("list_manifests", args)["manifests"].([]any); len(got) != 1 || got[0].(map[string]any)["manifest_token"] != tok {
			t.Errorf("list_manifests(%v) = %v", args, got)
		}
	}

	cves := f.call("list_cves", map[string]any{"product": "openssl", "version": "3.0.7"})
	if num(cves["count"]) != 3 || cves["cves"].([]any)[0].(map[string]any)["cve_id"] != "CVE-2023-0286" {
		t.Errorf("list_cves = %v", cves)
	}
	if got := f.call("list_cves", map[string]any{"product": "zlib"}); num(got["count"]) != 2 {
		t.Errorf("list_cves all versions = %v", got)
	}

	del := f.call("delete_manifest", map[string]any{"token": tok})
	if del["success"] != true {
		t.Fatalf("delete = %v", del)
	}
	e := f.fail("latest_report", map[string]any{"manifest_token": tok}, sdk.CodeNotFound)
	if !strings.Contains(e.Message, "manifest not found") {
		t.Errorf("message = %q", e.Message)
	}

	// The simulator accepted every request the plugin signed.
	if n := f.sim.SignatureFailures(); n != 0 {
		t.Fatalf("%d signatures rejected", n)
	}
	for _, en := range f.sim.Recorder().Entries() {
		if en.Status == http.StatusForbidden {
			t.Errorf("403 for %s %s", en.Method, en.Path)
		}
	}
}

func TestOneChangedByteIsRejected(t *testing.T) {
	f := newFixture(t)
	up := f.call("upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json")})
	tok := up["manifest_token"].(string)
	calls := []struct {
		op   string
		args map[string]any
		mode string
	}{
		{"heartbeat", nil, "body"},
		{"heartbeat", nil, "signature"},
		{"create_product", map[string]any{"name": "x"}, "body"},
		{"list_products", nil, "query"},
		{"list_products", nil, "signature"},
		{"list_folders", nil, "query"},
		{"list_manifests", nil, "query"},
		{"upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json")}, "body"},
		{"latest_report", map[string]any{"manifest_token": tok}, "query"},
		{"latest_report", map[string]any{"manifest_token": tok}, "signature"},
		{"list_cves", map[string]any{"product": "zlib", "version": "1.2.11"}, "query"},
		{"delete_manifest", map[string]any{"token": tok}, "query"},
		{"delete_manifest", map[string]any{"token": tok}, "signature"},
	}
	for _, c := range calls {
		before := f.sim.SignatureFailures()
		f.rt.mode.Store(c.mode)
		e := f.fail(c.op, c.args, sdk.CodeUnauthenticated)
		f.rt.mode.Store("")
		if !strings.Contains(e.Message, "HTTP 403") || !strings.Contains(e.Message, "signature") || !strings.Contains(e.Message, canaryEmail) {
			t.Errorf("%s (%s changed): message %q", c.op, c.mode, e.Message)
		}
		if f.sim.SignatureFailures() != before+1 {
			t.Errorf("%s (%s changed): the simulator did not reject it", c.op, c.mode)
		}
		// Untouched, the same call passes.
		if c.op != "delete_manifest" {
			f.call(c.op, c.args)
		}
	}
	if len(f.sim.Manifests()) != 2 {
		t.Errorf("a tampered write changed state: %d manifests", len(f.sim.Manifests()))
	}
}

func TestKeyFileErrors(t *testing.T) {
	f := newFixture(t)
	for name, c := range map[string]struct{ content, want string }{
		"empty":            {"  \n", "the key file is empty"},
		"not JSON":         {"email=" + canaryEmail + "\nkey=" + canaryKey, "not valid JSON (syntax error at byte"},
		"truncated":        {`{"email": "` + canaryEmail + `", "key": "` + canaryKey, "not valid JSON"},
		"two values":       {keyFile(canaryEmail, canaryKey) + keyFile(canaryEmail, canaryKey), "more than one value"},
		"array":            {`["` + canaryKey + `"]`, "holds a JSON array, not an object"},
		"no email":         {`{"key": "` + canaryKey + `"}`, `has no "email"`},
		"no key":           {`{"email": "` + canaryEmail + `", "secret": "` + canaryKey + `"}`, `has no "key" (or "organization_key")`},
		"blank key":        {`{"email": "` + canaryEmail + `", "key": "  "}`, `has no "key"`},
		"key not a string": {`{"email": "` + canaryEmail + `", "key": 12345}`, `field "key" of the key file is a JSON number`},
	} {
		f.conn["key_file"] = c.content
		e := f.fail("heartbeat", nil, sdk.CodeInvalidArgument)
		if e.Param != "key_file" || !strings.Contains(e.Message, c.want) || !strings.Contains(e.Message, `"email" and "key"`) {
			t.Errorf("%s: %v, want key_file: %s", name, e, c.want)
		}
	}
	if n := len(f.h.Exchanges()); n != 0 {
		t.Errorf("%d requests sent with a bad key file", n)
	}
}

func TestKeyFileVariants(t *testing.T) {
	f := newFixture(t)
	// Values are stripped like Python's str.strip(), including \x1c-\x1f.
	f.conn["key_file"] = "{\"email\": \" " + canaryEmail + "\\n\", \"key\": \"\\t" + canaryKey + " \\u001f\"}\n"
	f.call("heartbeat", nil)

	// organization_key wins over key.
	f.sim.SetUser("org@example.com", "ORG-"+canaryKey)
	f.conn["key_file"] = `{"email": "org@example.com", "key": "personal-key", "organization_key": "ORG-` + canaryKey + `", "enterprise": true}`
	if out := f.call("heartbeat", nil); out["email"] != "org@example.com" {
		t.Fatalf("heartbeat = %v", out)
	}

	// server_url must be the connection's url.
	f.conn["key_file"] = `{"email": "` + canaryEmail + `", "key": "` + canaryKey + `", "server_url": "` + f.srv.URL + `/"}`
	f.call("heartbeat", nil)
	f.conn["key_file"] = `{"email": "` + canaryEmail + `", "key": "` + canaryKey + `", "server_url": "https://vigiles.lynx.com/"}`
	e := f.fail("heartbeat", nil, sdk.CodeInvalidArgument)
	if e.Param != "url" || !strings.Contains(e.Message, `run with --var url=https://vigiles.lynx.com`) {
		t.Fatalf("server_url mismatch: %v", e)
	}

	// A wrong key is the server's 403, explained.
	f.conn["key_file"] = keyFile(canaryEmail, "not-"+canaryKey)
	e = f.fail("list_products", nil, sdk.CodeUnauthenticated)
	if !strings.Contains(e.Message, "cannot verify the request signature: check that the key file of "+canaryEmail) {
		t.Errorf("bad key: %v", e)
	}
}

func TestArgumentsCheckedBeforeSending(t *testing.T) {
	f := newFixture(t)
	delete(f.conn, "product")
	for _, c := range []struct {
		op    string
		args  map[string]any
		param string
	}{
		{"upload_manifest", map[string]any{"manifest": "  "}, "manifest"},
		{"upload_manifest", map[string]any{"manifest": "{}", "folder_token": sim.DefaultFolderToken}, "product_token"},
		{"upload_manifest", map[string]any{"manifest": "{}", "subfolder_name": "x"}, "product_token"},
		{"upload_manifest", map[string]any{"manifest": "{}", "product_token": "../../admin"}, "product_token"},
		{"list_manifests", map[string]any{"folder_token": "a", "product_token": "b"}, "folder_token"},
		{"latest_report", map[string]any{"manifest_token": "x?y=1"}, "manifest_token"},
		{"delete_manifest", map[string]any{"token": " "}, "token"},
		{"create_product", map[string]any{"name": " "}, "name"},
		{"list_cves", map[string]any{"product": ""}, "product"},
	} {
		e := f.fail(c.op, c.args, sdk.CodeInvalidArgument)
		if e.Param != c.param {
			t.Errorf("%s(%v): param %q, want %q (%v)", c.op, c.args, e.Param, c.param, e)
		}
	}
	if n := len(f.h.Exchanges()); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}

func TestVendorErrors(t *testing.T) {
	f := newFixture(t)
	e := f.fail("upload_manifest", map[string]any{"manifest": `{"image": "no packages"}`}, sdk.CodeInvalidArgument)
	if e.Param != "manifest" || !strings.Contains(e.Message, "HTTP 412") || !strings.Contains(e.Message, "no packages") {
		t.Errorf("412: %v", e)
	}
	f.fail("upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json"), "product_token": "0123abcd"}, sdk.CodeNotFound)
	up := f.call("upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json"), "upload_only": true})
	if up["report_token"] != "" || num(up["critical"]) != 0 || up["manifest_token"] == "" {
		t.Errorf("upload_only = %v", up)
	}
	f.fail("latest_report", map[string]any{"manifest_token": up["manifest_token"]}, sdk.CodeNotFound)
	f.sim.Faults().Add(simkit.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 7 * time.Second})
	e = f.fail("heartbeat", nil, sdk.CodeUnavailable)
	if !e.Retryable {
		t.Errorf("503: %+v", e)
	}
	f.conn["url"] = "not a url"
	e = f.fail("heartbeat", nil, sdk.CodeInvalidArgument)
	if e.Param != "url" {
		t.Errorf("bad url: %v", e)
	}
}

func TestDryRunHoldsWritesAndSendsReads(t *testing.T) {
	f := newFixture(t)
	f.h.DryRun = true
	if out := f.call("heartbeat", nil); out["ok"] != true {
		t.Fatalf("heartbeat in a dry-run = %v", out)
	}
	for _, c := range []struct {
		op   string
		args map[string]any
	}{
		{"upload_manifest", map[string]any{"manifest": readManifest(t, "manifest.json")}},
		{"create_product", map[string]any{"name": "x"}},
		{"delete_manifest", map[string]any{"token": "0123abcd"}},
	} {
		if _, err := f.h.Call(c.op, f.conn, c.args); !errors.Is(err, sdktest.Held) {
			t.Errorf("%s: got %v, want held", c.op, err)
		}
	}
	f.call("list_products", nil)
	if w := f.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("simulator saw %d writes in a dry-run", w)
	}
	if n := f.sim.Recorder().Count(http.MethodPost, "/api/v1/heartbeat"); n != 1 {
		t.Fatalf("heartbeat sent %d times", n)
	}
}
