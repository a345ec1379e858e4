// Package hyperflex holds the end-to-end tests of the HyperFlex flows: the real engine, the
// real plugin binary and the HyperFlex simulator over HTTPS, or the committed cassettes.
package hyperflex

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

var start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// canaryPassword is the admin password of the test simulators: it must never show up in any
// output, in any encoding.
const canaryPassword = "canary-HX-pw-8c1f2e9d"

// env is a HyperFlex simulator over HTTPS, a token file path and a token store shared by the
// runs of one test.
type env struct {
	t         *testing.T
	sim       *sim.Sim
	url       string
	caFile    string
	dir       string
	tokenFile string
	store     store.Store
	log       bytes.Buffer // print() and plugin log lines of every run
	logger    bytes.Buffer // the engine's structured log of every run
	retry     hostnet.RetryPolicy
	issued    map[string]bool // every token the simulator issued, as seen after each run
}

func newEnv(t *testing.T, cfg sim.Config) *env {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = simkit.NewClock(start)
	}
	if cfg.Accounts == nil {
		cfg.Accounts = []sim.Account{
			{Username: sim.DefaultUser, Password: canaryPassword},
			{Username: sim.ReadOnlyUser, Password: sim.ReadOnlyPassword, Scopes: []string{"READ"}},
		}
	}
	s := sim.New(cfg)
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	return &env{
		t: t, sim: s, url: srv.URL, caFile: caFile, dir: dir,
		tokenFile: filepath.Join(dir, "hx_token.xml"),
		store:     store.NewMemory(cfg.Clock.Now),
		// Small waits, so a test that meets the rate limit stays fast.
		retry: hostnet.RetryPolicy{Max: 2, WaitMin: 10 * time.Millisecond, WaitMax: 3 * time.Second},
	}
}

// opts are the options of a run: the env's vars, the admin password in $HX_PASSWORD, the
// simulator's clock for time.now().
func (e *env) opts(vars map[string]string) engine.Options {
	v := map[string]string{"url": e.url, "ca_file": e.caFile, "token_file": e.tokenFile}
	for k, x := range vars {
		v[k] = x
	}
	return engine.Options{
		Vars: v,
		Getenv: func(k string) (string, bool) {
			if k == "HX_PASSWORD" {
				return canaryPassword, true
			}
			return "", false
		},
		Now:    e.sim.Clock().Now,
		Store:  e.store,
		Retry:  e.retry,
		Log:    &e.log,
		Logger: hclog.New(&hclog.LoggerOptions{Output: &e.logger, Level: hclog.Debug}),
	}
}

func (e *env) run(flow string, vars map[string]string) (*engine.Result, error) {
	e.t.Helper()
	return e.runOpts(flow, e.opts(vars))
}

func (e *env) runOpts(flow string, o engine.Options) (*engine.Result, error) {
	e.t.Helper()
	res, err := flowtest.Run(e.t, flowtest.Flow("hyperflex", flow), o, "hyperflex")
	if res != nil {
		e.checkNoLeak(res, err)
	}
	return res, err
}

// mustRun runs a flow that must succeed and returns its outputs.
func (e *env) mustRun(flow string, vars map[string]string) map[string]any {
	e.t.Helper()
	res, err := e.run(flow, vars)
	if err != nil {
		e.t.Fatalf("%s: %v", flow, err)
	}
	return flowtest.Outputs(res)
}

// count is how many requests the simulator received for an AAA path.
func (e *env) count(path string) int { return e.sim.Recorder().Count(http.MethodPost, path) }

// tokenFile is a token file as a test reads it, independently of the plugin.
type tokenFile struct {
	XMLName      xml.Name `xml:"hx_api_token"`
	AccessToken  string   `xml:"token>access_token"`
	RefreshToken string   `xml:"token>refresh_token"`
	TokenType    string   `xml:"token>token_type"`
	Human        string   `xml:"creation_time_format>human_readable_time"`
	Unix         string   `xml:"creation_time_format>unix_timestamp_time"`
	Source       string   `xml:"source_module"`
}

// readTokenFile reads the env's token file, checks its mode and layout, and returns it.
func (e *env) readTokenFile() tokenFile {
	e.t.Helper()
	fi, err := os.Stat(e.tokenFile)
	if err != nil {
		e.t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		e.t.Fatalf("token file mode %04o, want 0600", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(e.tokenFile)
	if err != nil {
		e.t.Fatal(err)
	}
	var f tokenFile
	if err := xml.Unmarshal(raw, &f); err != nil {
		e.t.Fatalf("token file: %v\n%s", err, raw)
	}
	// The Python tool's exact layout: no declaration, no whitespace, this element order.
	want := "<hx_api_token><token><access_token>" + f.AccessToken + "</access_token><refresh_token>" + f.RefreshToken +
		"</refresh_token><token_type>" + f.TokenType + "</token_type></token><creation_time_format><human_readable_time>" +
		f.Human + "</human_readable_time><unix_timestamp_time>" + f.Unix + "</unix_timestamp_time></creation_time_format><source_module>" +
		f.Source + "</source_module></hx_api_token>"
	if string(raw) != want {
		e.t.Fatalf("token file layout:\n got %s\nwant %s", raw, want)
	}
	return f
}

// writeFile puts content at the env's token file path with a mode.
func (e *env) writeFile(content string, mode os.FileMode) {
	e.t.Helper()
	if err := os.WriteFile(e.tokenFile, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(e.tokenFile, mode); err != nil {
		e.t.Fatal(err)
	}
}

// secrets are the values that must never appear in any output: the password and every token
// the simulator issued, including those refreshed or revoked since.
func (e *env) secrets() []string {
	if e.issued == nil {
		e.issued = map[string]bool{}
	}
	for _, se := range e.sim.Sessions() {
		e.issued[se.AccessToken] = true
		e.issued[se.RefreshToken] = true
	}
	s := []string{canaryPassword}
	for tok := range e.issued {
		s = append(s, tok)
	}
	return s
}

// checkNoLeak fails the test when a secret, in any common encoding, shows in what a run
// produced: outputs, step records, the error, the plan, the logs.
func (e *env) checkNoLeak(res *engine.Result, runErr error) {
	e.t.Helper()
	var out bytes.Buffer
	json.NewEncoder(&out).Encode(res.Outputs)
	json.NewEncoder(&out).Encode(res.Steps)
	if runErr != nil {
		out.WriteString(runErr.Error())
	}
	if res.Plan != nil {
		res.Plan.WriteText(&out, res.Redactor)
		json.NewEncoder(&out).Encode(res.Plan.Steps(res.Redactor))
	}
	out.Write(e.log.Bytes())
	out.Write(e.logger.Bytes())
	text := out.String()
	for _, s := range e.secrets() {
		for _, form := range redact.Forms(s) {
			if strings.Contains(text, form) {
				e.t.Fatalf("a secret leaked (form %q) into the run's output:\n%s", form, text)
			}
		}
	}
}

// flowError returns the run error's message, failing the test when the run succeeded.
func flowError(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("the flow succeeded, want an error")
	}
	var fe *engine.FlowError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v, want a *engine.FlowError", err, err)
	}
	return err.Error()
}
