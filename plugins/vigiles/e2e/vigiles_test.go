// Package vigiles runs the shipped Vigiles flows through the real engine and
// plugin binary: against the simulator, in a dry-run, from the committed
// cassettes with no simulator at all, and with broken key files.
package vigiles

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

// The test user's key is a canary: it must never appear in a plan, a
// cassette, an output or an error, in any encoding.
const (
	canaryEmail = "ci-bot@example.com"
	canaryKey   = "CANARY-0f4e9a7c2b51-vigiles-key"
)

type env struct {
	t       *testing.T
	sim     *sim.Sim
	url     string
	dir     string
	keyFile string
}

func start(t *testing.T) *env {
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
	e := &env{t: t, sim: s, url: srv.URL, dir: t.TempDir()}
	e.keyFile = e.writeKeyFile("linuxlink_key", canaryEmail, canaryKey, 0o600)
	return e
}

func (e *env) writeKeyFile(name, email, key string, mode os.FileMode) string {
	b, _ := json.Marshal(map[string]string{"email": email, "key": key})
	return e.write(name, string(b), mode)
}

func (e *env) write(name, content string, mode os.FileMode) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		e.t.Fatal(err)
	}
	return p
}

func testdata(name string) string {
	return filepath.Join(flowtest.RepoRoot(), "plugins", "vigiles", "testdata", name)
}

func (e *env) vars(extra ...string) map[string]string {
	v := map[string]string{"url": e.url, "key_file": e.keyFile, "product": sim.DefaultProductToken, "folder": sim.DefaultFolderToken}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

func run(t *testing.T, flow string, opts engine.Options) (*engine.Result, error) {
	t.Helper()
	opts.AllowHTTP = true // the simulator serves plain http on loopback
	return flowtest.Run(t, flowtest.Flow("vigiles", flow), opts, "vigiles")
}

func assertNoCanary(t *testing.T, where, s string) {
	t.Helper()
	for _, form := range []string{canaryKey, base64.StdEncoding.EncodeToString([]byte(canaryKey)),
		base64.RawURLEncoding.EncodeToString([]byte(canaryKey)), url.QueryEscape(canaryKey), "0f4e9a7c2b51"} {
		if strings.Contains(s, form) {
			t.Errorf("%s holds the key (as %q):\n%s", where, form, s)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	e := start(t)
	res, err := run(t, "heartbeat.star", engine.Options{Vars: e.vars()})
	if err != nil {
		t.Fatal(err)
	}
	if out := flowtest.Outputs(res); out["ok"] != true || out["email"] != canaryEmail {
		t.Fatalf("outputs = %v", out)
	}
	if n := e.sim.SignatureFailures(); n != 0 {
		t.Fatalf("%d signatures rejected", n)
	}
}

func TestScanGate(t *testing.T) {
	e := start(t)
	res, err := run(t, "scan.star", engine.Options{Vars: e.vars("manifest", testdata("manifest.json"), "max_critical", "2", "subfolder", "nightly")})
	if err != nil {
		t.Fatal(err)
	}
	out := flowtest.Outputs(res)
	if out["critical"] != int64(2) || out["high"] != int64(6) || out["medium"] != int64(2) || out["fixed"] != int64(1) ||
		!strings.HasPrefix(out["report_url"].(string), e.url+"/vigiles/reports/") {
		t.Fatalf("outputs = %v", out)
	}
	ms := e.sim.Manifests()
	if len(ms) != 1 || ms[0].ProductToken != sim.DefaultProductToken || ms[0].FolderToken == sim.DefaultFolderToken {
		t.Fatalf("manifest not in a subfolder of the product folder: %+v", ms)
	}

	_, err = run(t, "scan.star", engine.Options{Vars: e.vars("manifest", testdata("manifest.json"))})
	var fe *engine.FlowError
	if !errors.As(err, &fe) || fe.Plan || !strings.Contains(fe.Msg, "2 open critical CVEs, more than max_critical = 0") ||
		!strings.Contains(fe.Msg, "CVE-2022-1292 (openssl 3.0.2)") || !strings.Contains(fe.Msg, "CVE-2022-37434 (zlib 1.2.11)") {
		t.Fatalf("gate: got %v", err)
	}
	assertNoCanary(t, "gate error", err.Error())

	res, err = run(t, "scan.star", engine.Options{Vars: e.vars("manifest", testdata("manifest-fixed.json"))})
	if err != nil {
		t.Fatalf("fixed build: %v", err)
	}
	if out := flowtest.Outputs(res); out["critical"] != int64(0) || out["high"] != int64(2) {
		t.Fatalf("fixed build outputs = %v", out)
	}
	if n := e.sim.SignatureFailures(); n != 0 {
		t.Fatalf("%d signatures rejected", n)
	}
}

func TestScanDryRunShowsTheSignedMessage(t *testing.T) {
	e := start(t)
	var log bytes.Buffer
	res, err := run(t, "scan.star", engine.Options{DryRun: true, Log: &log, Vars: e.vars("manifest", testdata("manifest.json"))})
	if err != nil {
		t.Fatalf("dry-run: %v", err)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("the simulator saw %d writes in a dry-run", w)
	}
	if n := res.Plan.Pending(); n != 2 {
		t.Fatalf("%d pending changes, want 2 (the upload and the report that needs its token)", n)
	}
	if out := flowtest.Outputs(res); out["critical"] != "(known after apply: latest_report.critical)" {
		t.Errorf("outputs = %v", out)
	}
	if !strings.Contains(log.String(), "the CVE gate (max_critical = 0) is checked when the scan runs") {
		t.Errorf("log = %q", log.String())
	}
	var text bytes.Buffer
	if err := res.Plan.WriteText(&text, res.Redactor); err != nil {
		t.Fatal(err)
	}
	plan := text.String()
	for _, want := range []string{
		"would send: POST " + e.url + "/api/v1/vigiles/manifests",
		"(hmac_msg: POST/api/v1/vigiles/manifestsemail=" + canaryEmail + "&filter_results=False&folder_token=" + sim.DefaultFolderToken + "&manifest={",
		"X-Auth-Signature: ***",
		"would send: GET " + e.url + "/api/v1/vigiles/manifests/(known after apply: upload_manifest.manifest_token)/reports/latest",
		"(hmac_msg: GET/api/v1/vigiles/manifests/(known after apply: upload_manifest.manifest_token)/reports/latestemail=" + canaryEmail + "&filtered=False)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	steps := res.Plan.Steps(res.Redactor)
	js, _ := json.Marshal(steps)
	for where, s := range map[string]string{"plan": plan, "plan JSON": string(js), "log": log.String()} {
		assertNoCanary(t, where, s)
	}
	for _, st := range steps {
		for _, q := range st.Requests {
			for _, h := range q.Headers {
				if h[0] == "X-Auth-Signature" && h[1] != "***" {
					t.Errorf("%s shows its signature: %q", st.Call, h[1])
				}
			}
		}
	}
}

func TestHeartbeatInADryRunIsSent(t *testing.T) {
	e := start(t)
	res, err := run(t, "heartbeat.star", engine.Options{DryRun: true, Vars: e.vars()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Pending() != 0 || flowtest.Outputs(res)["ok"] != true || e.sim.Recorder().Count("POST", "/api/v1/heartbeat") != 1 {
		t.Fatalf("heartbeat dry-run: pending %d, outputs %v", res.Plan.Pending(), flowtest.Outputs(res))
	}
	steps := res.Plan.Steps(res.Redactor)
	if len(steps) != 1 || len(steps[0].Requests) != 1 || steps[0].Requests[0].Notes["hmac_msg"] != "POST/api/v1/heartbeatemail="+canaryEmail {
		t.Fatalf("plan steps = %+v", steps)
	}
}

func TestKeyFileProblems(t *testing.T) {
	e := start(t)
	for name, c := range map[string]struct {
		keyFile string
		want    []string
	}{
		"missing":        {filepath.Join(e.dir, "nope", "linuxlink_key"), []string{"file.read_secret", "does not exist"}},
		"group readable": {e.writeKeyFile("shared_key", canaryEmail, canaryKey, 0o640), []string{"mode 0640", "chmod 600"}},
		"world readable": {e.writeKeyFile("open_key", canaryEmail, canaryKey, 0o604), []string{"mode 0604"}},
		"not JSON":       {e.write("raw_key", canaryKey+"\n", 0o600), []string{"key_file", "not valid JSON"}},
		"no key":         {e.write("nokey", `{"email": "`+canaryEmail+`", "api_key": "`+canaryKey+`"}`, 0o600), []string{"key_file", `has no "key"`}},
		"no email":       {e.write("noemail", `{"key": "`+canaryKey+`"}`, 0o600), []string{"key_file", `has no "email"`}},
		"other server": {e.write("lynx", `{"email": "`+canaryEmail+`", "key": "`+canaryKey+`", "server_url": "https://vigiles.lynx.com"}`, 0o600),
			[]string{`run with --var url=https://vigiles.lynx.com`}},
		"wrong key": {e.writeKeyFile("wrong", canaryEmail, "old-"+canaryKey, 0o600), []string{"HTTP 403", "check that the key file of " + canaryEmail}},
	} {
		_, err := run(t, "heartbeat.star", engine.Options{Vars: e.vars("key_file", c.keyFile)})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", name, err, w)
			}
		}
		assertNoCanary(t, name+" error", err.Error())
	}
}

// signatureLine finds the value of each X-Auth-Signature header in a cassette.
var signatureLine = regexp.MustCompile(`X-Auth-Signature:\s*\n\s*-\s*(\S+)`)

// The cassettes are recorded by TestRecordCassettes (TOKENFLOW_RECORD=1)
// with the default user; replaying needs that email (it is in every request
// body or query) but not its key: the signature is masked in the cassette and
// not matched.
var cassettes = []struct {
	name, flow string
	vars       []string
	want       map[string]any
}{
	{"heartbeat.yaml", "heartbeat.star", nil, map[string]any{"ok": true, "email": sim.DefaultEmail}},
	{"scan.yaml", "scan.star", []string{"manifest", testdata("manifest.json"), "max_critical", "2"},
		map[string]any{"critical": int64(2), "high": int64(6), "medium": int64(2), "low": int64(0), "unfixed": int64(9), "fixed": int64(1)}},
}

func TestReplayCassettes(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]string{"email": sim.DefaultEmail, "key": canaryKey})
	key := filepath.Join(dir, "linuxlink_key")
	if err := os.WriteFile(key, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cassettes {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{"url": "http://127.0.0.1:9", "key_file": key, "product": sim.DefaultProductToken, "folder": sim.DefaultFolderToken}
			for i := 0; i+1 < len(c.vars); i += 2 {
				vars[c.vars[i]] = c.vars[i+1]
			}
			res, err := run(t, c.flow, engine.Options{Vars: vars, Replay: testdata(c.name)})
			if err != nil {
				t.Fatal(err)
			}
			out := flowtest.Outputs(res)
			for k, v := range c.want {
				if out[k] != v {
					t.Errorf("%s = %v, want %v (outputs %v)", k, out[k], v, out)
				}
			}
			raw, err := os.ReadFile(testdata(c.name))
			if err != nil {
				t.Fatal(err)
			}
			assertNoCanary(t, c.name, string(raw))
			if strings.Contains(string(raw), sim.DefaultKey) {
				t.Errorf("%s: holds the recording key", c.name)
			}
			sigs := signatureLine.FindAllStringSubmatch(string(raw), -1)
			if len(sigs) == 0 {
				t.Errorf("%s: no X-Auth-Signature header recorded", c.name)
			}
			for _, m := range sigs {
				if m[1] != "'***'" {
					t.Errorf("%s: signature not masked: %s", c.name, m[1])
				}
			}
		})
	}
	// Replay with max_critical=1 fails the same way as a live run.
	vars := map[string]string{"url": "http://127.0.0.1:9", "key_file": key, "product": sim.DefaultProductToken,
		"folder": sim.DefaultFolderToken, "manifest": testdata("manifest.json"), "max_critical": "1"}
	_, err := run(t, "scan.star", engine.Options{Vars: vars, Replay: testdata("scan.yaml")})
	if err == nil || !strings.Contains(err.Error(), "2 open critical CVEs, more than max_critical = 1") {
		t.Fatalf("replayed gate: %v", err)
	}
}

// TestRecordCassettes regenerates plugins/vigiles/testdata/*.yaml against
// the simulator: TOKENFLOW_RECORD=1 go test ./plugins/vigiles/e2e -run TestRecordCassettes
func TestRecordCassettes(t *testing.T) {
	if os.Getenv("TOKENFLOW_RECORD") != "1" {
		t.Skip("set TOKENFLOW_RECORD=1 to record the cassettes again")
	}
	for _, c := range cassettes {
		e := start(t)
		e.keyFile = e.writeKeyFile("default_key", sim.DefaultEmail, sim.DefaultKey, 0o600)
		res, err := run(t, c.flow, engine.Options{Vars: e.vars(c.vars...), Record: testdata(c.name)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("recorded %s: %v", c.name, flowtest.Outputs(res))
	}
}
