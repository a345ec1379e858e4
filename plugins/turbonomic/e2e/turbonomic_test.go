// Package turbonomic_test runs the shipped Turbonomic flows end to end: the engine, the real
// plugin binary and the simulator over HTTPS with a generated CA, plus the committed cassettes
// replayed with no simulator at all.
package turbonomic_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

// Canary secrets: none of them, in any encoding, may show in a plan, an output, a log, an error
// or a cassette.
const (
	adminPassword   = sim.DefaultPassword
	accountPassword = "Sa-Canary-7f3e9b2c!"
	account         = "svc-tokenflow"
)

var start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

type env struct {
	sim    *sim.Sim
	srv    *simkit.Server
	caFile string
	vars   map[string]string
	secret map[string]string
	store  *store.Memory
	log    bytes.Buffer
}

func newEnv(t *testing.T, cfg sim.Config) *env {
	t.Helper()
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	if cfg.Clock == nil {
		cfg.Clock = simkit.NewClock(start)
	}
	s := sim.New(cfg)
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &env{
		sim: s, srv: srv, caFile: caFile, store: store.NewMemory(cfg.Clock.Now),
		vars:   map[string]string{"url": srv.URL, "ca_file": caFile, "account": account, "role": "OBSERVER"},
		secret: map[string]string{"TURBO_PASSWORD": adminPassword, "TURBO_SA_PASSWORD": accountPassword},
	}
}

func (e *env) run(t *testing.T, flow string, mod func(*engine.Options)) (*engine.Result, error) {
	t.Helper()
	opts := engine.Options{
		Vars: e.vars, Store: e.store, Now: e.sim.Clock().Now, Log: &e.log,
		Getenv: func(k string) (string, bool) { v, ok := e.secret[k]; return v, ok },
		Retry:  hostnet.RetryPolicy{WaitMin: time.Millisecond, WaitMax: 2 * time.Second},
	}
	if mod != nil {
		mod(&opts)
	}
	return flowtest.Run(t, flowtest.Flow("turbonomic", flow), opts, "turbonomic")
}

// canaryForms are the encodings a leaked secret could take.
func canaryForms(secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)),
			base64.StdEncoding.EncodeToString([]byte("administrator:"+s)), base64.StdEncoding.EncodeToString([]byte(account+":"+s)))
		j, _ := json.Marshal(s)
		out = append(out, string(j[1:len(j)-1]))
	}
	return out
}

func assertNoCanary(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, f := range canaryForms(secrets...) {
		if strings.Contains(text, f) {
			t.Fatalf("%s leaks a secret (%q)", where, f)
		}
	}
}

func TestServiceAccountTwiceCreatesOnce(t *testing.T) {
	e := newEnv(t, sim.Config{})
	res, err := e.run(t, "service_account.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := flowtest.Outputs(res)
	u, ok := e.sim.UserByName(account)
	if !ok || u.RoleName != "OBSERVER" || out["uuid"] != u.UUID || out["created"] != true || out["turbonomic"] != "Turbonomic 8.14.3 (xl)" {
		t.Fatalf("user %+v, outputs %v", u, out)
	}
	if !e.sim.CheckPassword(account, accountPassword) {
		t.Fatal("the account does not have the password")
	}
	tok, err := e.store.Get(t.Context(), e.srv.URL, "turbonomic/"+strings.TrimPrefix(e.srv.URL, "https://")+"/"+account)
	if err != nil || tok.Value != accountPassword || tok.Vendor != "turbonomic" || tok.Labels["uuid"] != u.UUID || tok.Labels["role"] != "OBSERVER" {
		t.Fatalf("stored %+v, %v", tok, err)
	}
	if n := e.sim.SessionsOf(account); n != 0 {
		t.Fatalf("the login check left %d sessions", n)
	}
	if n := e.sim.Sessions(); n != 0 {
		t.Fatalf("the run left %d sessions open", n)
	}
	writes := e.sim.Recorder().Writes()

	res, err = e.run(t, "service_account.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	out2 := flowtest.Outputs(res)
	if out2["created"] != false || out2["uuid"] != u.UUID {
		t.Fatalf("second run outputs %v", out2)
	}
	if n := e.sim.Recorder().Count(http.MethodPost, sim.Base+"/users"); n != 1 {
		t.Fatalf("POST users sent %d times over two runs, want 1", n)
	}
	if w := e.sim.Recorder().Writes(); w != writes {
		t.Fatalf("the second run sent %d writes", w-writes)
	}
	if len(e.sim.Users()) != 2 {
		t.Fatalf("users = %+v", e.sim.Users())
	}
	assertNoCanary(t, "run log", e.log.String(), adminPassword, accountPassword)
	b, _ := json.Marshal(res.Outputs)
	assertNoCanary(t, "outputs", string(b), adminPassword, accountPassword)
}

func TestServiceAccountRoleMismatchFails(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.sim.AddUser(sim.User{Username: account, Password: accountPassword, RoleName: "ADVISOR"})
	_, err := e.run(t, "service_account.star", nil)
	if err == nil || !strings.Contains(err.Error(), "exists with role ADVISOR, not OBSERVER") {
		t.Fatalf("got %v", err)
	}
}

func TestServiceAccountWrongStoredPasswordFails(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.sim.AddUser(sim.User{Username: account, Password: "someone-changed-it", RoleName: "OBSERVER"})
	_, err := e.run(t, "service_account.star", nil)
	if err == nil || !strings.Contains(err.Error(), `"svc-tokenflow" cannot log in`) {
		t.Fatalf("got %v", err)
	}
	if _, err := e.store.Get(t.Context(), e.srv.URL, "turbonomic/"+strings.TrimPrefix(e.srv.URL, "https://")+"/"+account); err == nil {
		t.Fatal("a password that does not log in was stored")
	}
}

func TestServiceAccountDryRunShowsMaskedPOST(t *testing.T) {
	e := newEnv(t, sim.Config{})
	res, err := e.run(t, "service_account.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("the simulator saw %d writes during a dry-run: %+v", w, e.sim.Recorder().Entries())
	}
	if _, ok := e.sim.UserByName(account); ok {
		t.Fatal("the dry-run created the user")
	}
	var plan bytes.Buffer
	if err := res.Plan.WriteText(&plan, res.Redactor); err != nil {
		t.Fatal(err)
	}
	p := plan.String()
	for _, want := range []string{
		"+ turbonomic.create_user  (write)",
		"would send: POST " + e.srv.URL + "/api/v3/users",
		`"password": "***"`,
		`"username": "svc-tokenflow"`,
		`"roleName": "OBSERVER"`,
		"Cookie: ***",
		"turbonomic.login_check",
		"would store token",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(p)
	}
	assertNoCanary(t, "plan", p, adminPassword, accountPassword)
	js, _ := json.Marshal(res.Plan.Steps(res.Redactor))
	assertNoCanary(t, "JSON plan", string(js), adminPassword, accountPassword)
	assertNoCanary(t, "run log", e.log.String(), adminPassword, accountPassword)
	if n := e.sim.Sessions(); n != 0 {
		t.Fatalf("the dry-run left %d sessions open", n)
	}
	if res.Pending() == 0 {
		t.Fatal("no change pending")
	}
}

func TestInventoryPagesThrough2500Entities(t *testing.T) {
	e := newEnv(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 2500, "PhysicalMachine": 12}, PageSize: 100})
	e.vars["types"] = "VirtualMachine"
	res, err := e.run(t, "inventory.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := flowtest.Outputs(res)
	if fmt.Sprint(out["counts"]) != "map[VirtualMachine:2500]" || fmt.Sprint(out["total"]) != "2500" || fmt.Sprint(out["requests"]) != "25" {
		t.Fatalf("outputs = %v", out)
	}
	if n := e.sim.Recorder().Count(http.MethodGet, sim.Base+"/search"); n != 25 {
		t.Fatalf("the simulator answered %d search requests, want 25", n)
	}
	states := out["by_state"].(map[string]any)["VirtualMachine"].(map[string]any)
	sum := 0
	for _, n := range states {
		sum += int(n.(int64))
	}
	if sum != 2500 || states["IDLE"] != int64(250) {
		t.Fatalf("by_state = %v", states)
	}
}

func TestInventoryLostCursorIsAnError(t *testing.T) {
	e := newEnv(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 2500}, PageSize: 100})
	e.vars["types"] = "VirtualMachine"
	e.sim.LoseCursorAt(7)
	res, err := e.run(t, "inventory.star", nil)
	if err == nil || !strings.Contains(err.Error(), "stopped paging after 700 of 2500 records") || !strings.Contains(err.Error(), "inventory.star:") {
		t.Fatalf("got %v", err)
	}
	if res != nil && len(res.Outputs) > 1 {
		t.Fatalf("a short count was output: %v", res.Outputs)
	}
}

func TestInventorySurvivesA503WithRetryAfter(t *testing.T) {
	e := newEnv(t, sim.Config{})
	e.sim.Faults().Add(simkit.Fault{Method: http.MethodGet, PathPrefix: sim.Base + "/search", Times: 1, Status: http.StatusServiceUnavailable,
		RetryAfter: time.Second, Body: `{"type":503,"exception":"ServiceUnavailableException","message":"Market is starting"}`})
	res, err := e.run(t, "inventory.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(flowtest.Outputs(res)["counts"]); got != "map[PhysicalMachine:6 Storage:8 VirtualMachine:48]" {
		t.Fatalf("counts = %s", got)
	}
	if n := e.sim.Recorder().Count(http.MethodGet, sim.Base+"/search"); n != 4 {
		t.Fatalf("search answered %d times, want 4 (one retried)", n)
	}
}

func TestVersionProblemsStopBeforeAnyWrite(t *testing.T) {
	cases := []struct {
		name    string
		version sim.VersionReport
		vars    map[string]string
		want    string
	}{
		{"below the minimum", sim.XLVersion("7.20.1"), nil, "does not meet vmt-connect's default minimum 7.21+ for XL"},
		{"below min_version", sim.XLVersion("8.14.3"), map[string]string{"min_version": "8.15+"}, `does not meet min_version "8.15+"`},
		{"unparsable versionInfo", sim.VersionReport{VersionInfo: "Service Temporarily Unavailable"}, nil, "cannot tell the Turbonomic version"},
		{"snapshot build", sim.XLVersion("8.14.3-SNAPSHOT"), nil, "development build"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			e := newEnv(t, sim.Config{Version: &v})
			for k, v := range tc.vars {
				e.vars[k] = v
			}
			_, err := e.run(t, "service_account.star", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "service_account.star:") {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
			if w := e.sim.Recorder().Writes(); w != 0 {
				t.Fatalf("the simulator saw %d writes", w)
			}
			if n := e.sim.Recorder().Count(http.MethodPost, sim.Base+"/login"); n != 0 {
				t.Fatalf("the admin password was sent %d times to a refused appliance", n)
			}
			if _, ok := e.sim.UserByName(account); ok {
				t.Fatal("user created")
			}
		})
	}
	// allow_snapshot lets a development build through.
	v := sim.XLVersion("8.14.3-SNAPSHOT")
	e := newEnv(t, sim.Config{Version: &v})
	e.vars["allow_snapshot"] = "true"
	if _, err := e.run(t, "service_account.star", nil); err != nil {
		t.Fatal(err)
	}
}

// fernetToken encrypts like Python's cryptography.fernet (the library vmt-connect uses),
// written here from the spec so the fixture does not come from the code under test.
func fernetToken(t *testing.T, key string, plaintext []byte, at time.Time) string {
	k, err := base64.URLEncoding.DecodeString(key)
	if err != nil || len(k) != 32 {
		t.Fatal("bad fixture key")
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	pt := append(append([]byte{}, plaintext...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	msg := []byte{0x80}
	msg = binary.BigEndian.AppendUint64(msg, uint64(at.Unix()))
	iv := []byte("fixed-iv-16bytes")
	msg = append(msg, iv...)
	block, _ := aes.NewCipher(k[16:])
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	msg = append(msg, ct...)
	h := hmac.New(sha256.New, k[:16])
	h.Write(msg)
	return base64.URLEncoding.EncodeToString(h.Sum(msg))
}

// writeCredential writes a vmt-connect key/cred pair for the administrator, mode 0600.
func writeCredential(t *testing.T, dir, key, password string) (string, string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(sim.DefaultUser + ":" + password))
	keyFile, credFile := filepath.Join(dir, ".key"), filepath.Join(dir, ".cred")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, []byte(fernetToken(t, key, []byte(auth), start)), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, credFile
}

func TestVMTConnectCredentialFiles(t *testing.T) {
	key := base64.URLEncoding.EncodeToString([]byte("0123456789abcdef0123456789ABCDEF"))
	e := newEnv(t, sim.Config{})
	keyFile, credFile := writeCredential(t, t.TempDir(), key, adminPassword)
	delete(e.secret, "TURBO_PASSWORD") // the admin login comes from the files only
	e.vars["key_file"], e.vars["cred_file"] = keyFile, credFile
	res, err := e.run(t, "service_account.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	if flowtest.Outputs(res)["created"] != true {
		t.Fatalf("outputs %v", flowtest.Outputs(res))
	}
	assertNoCanary(t, "run log", e.log.String(), adminPassword, accountPassword)

	t.Run("wrong key", func(t *testing.T) {
		other := base64.URLEncoding.EncodeToString([]byte("another-key-0123another-key-0123"))
		e.vars["key_file"], _ = writeCredential(t, t.TempDir(), other, adminPassword)
		_, err := e.run(t, "service_account.star", nil)
		if err == nil || !strings.Contains(err.Error(), "HMAC check failed") || !strings.Contains(err.Error(), "decrypt_credentials") {
			t.Fatalf("got %v", err)
		}
		assertNoCanary(t, "error", err.Error(), adminPassword, other, key)
	})
	t.Run("corrupt cred file", func(t *testing.T) {
		dir := t.TempDir()
		k, c := writeCredential(t, dir, key, adminPassword)
		data, _ := os.ReadFile(c)
		os.WriteFile(c, data[:len(data)/2], 0o600)
		e.vars["key_file"], e.vars["cred_file"] = k, c
		_, err := e.run(t, "service_account.star", nil)
		if err == nil || !strings.Contains(err.Error(), "not a Fernet token") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("readable by others", func(t *testing.T) {
		dir := t.TempDir()
		k, c := writeCredential(t, dir, key, adminPassword)
		os.Chmod(k, 0o644)
		e.vars["key_file"], e.vars["cred_file"] = k, c
		_, err := e.run(t, "service_account.star", nil)
		if err == nil || !strings.Contains(err.Error(), "0644") {
			t.Fatalf("got %v", err)
		}
	})
}

// Cassettes: plugins/turbonomic/testdata/<flow>.yaml with the outputs of the recording beside
// them (<flow>.outputs.json). TOKENFLOW_RECORD=1 records them again against the simulator.
var cassettes = []struct {
	flow string
	cfg  sim.Config
	vars map[string]string
}{
	{"service_account", sim.Config{}, nil},
	{"inventory", sim.Config{Inventory: map[string]int{"VirtualMachine": 250, "PhysicalMachine": 6, "Storage": 8}, PageSize: 100}, nil},
}

func TestCommittedCassettesReplay(t *testing.T) {
	dir := filepath.Join(flowtest.RepoRoot(), "plugins", "turbonomic", "testdata")
	for _, c := range cassettes {
		t.Run(c.flow, func(t *testing.T) {
			cassette := filepath.Join(dir, c.flow+".yaml")
			golden := filepath.Join(dir, c.flow+".outputs.json")
			if os.Getenv("TOKENFLOW_RECORD") == "1" {
				cfg := c.cfg
				cfg.Clock = simkit.NewClock(start)
				e := newEnv(t, cfg)
				for k, v := range c.vars {
					e.vars[k] = v
				}
				res, err := e.run(t, c.flow+".star", func(o *engine.Options) { o.Record = cassette })
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.MarshalIndent(flowtest.Outputs(res), "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (record with TOKENFLOW_RECORD=1)", err)
			}
			vars := map[string]string{"url": "https://turbonomic.example.test", "account": account, "role": "OBSERVER"}
			for k, v := range c.vars {
				vars[k] = v
			}
			st := store.NewMemory(nil)
			res, err := flowtest.Run(t, flowtest.Flow("turbonomic", c.flow+".star"), engine.Options{
				Vars:   vars,
				Getenv: func(k string) (string, bool) { return "replay-needs-no-real-" + k, true },
				Replay: cassette, Store: st,
			}, "turbonomic")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(flowtest.Outputs(res), "", "  ")
			var a, b any
			json.Unmarshal(want, &a)
			json.Unmarshal(got, &b)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("replayed outputs differ from the recording:\n got %s\nwant %s", got, want)
			}
			data, err := os.ReadFile(cassette)
			if err != nil {
				t.Fatal(err)
			}
			assertNoCanary(t, "cassette "+c.flow, string(data), adminPassword, accountPassword)
			if bytes.Contains(data, []byte("JSESSIONID=")) && !bytes.Contains(data, []byte("JSESSIONID=***")) {
				t.Fatalf("cassette %s holds a session cookie", c.flow)
			}
		})
	}
}
