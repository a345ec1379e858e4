package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// tokenCapture remembers every "token" the simulator hands out, so the test
// knows the OpsToken and the issued API token it must never see again.
type tokenCapture struct {
	mu     sync.Mutex
	tokens []string
}

func (c *tokenCapture) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var body struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.Token != "" {
			c.mu.Lock()
			c.tokens = append(c.tokens, body.Token)
			c.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func forms(secret string) []string {
	return []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
		url.QueryEscape(secret),
	}
}

// TestCanarySecretsNeverPrinted runs the VCF flows every way the CLI can
// (dry-run, --json, apply with --record and trace logging, replay, and
// failing runs) and greps every output for the password, the OpsToken and
// the issued API token, in plain, base64 and URL-encoded forms.
func TestCanarySecretsNeverPrinted(t *testing.T) {
	const password = "Canary-P4ss+word/=&1"
	capture := &tokenCapture{}
	s := sim.New(sim.Config{Users: map[string]string{"admin": password}})
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	ca.WriteCertFile(caFile)
	srv, err := simkit.Serve(capture.wrap(s.Handler()), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
	t.Setenv("VCF_PASSWORD", password)
	t.Setenv("TOKENFLOW_STATE_DIR", filepath.Join(dir, "state"))
	pluginDir := flowtest.Plugins(t, "vcf")
	cassette := filepath.Join(dir, "run.yaml")
	common := []string{"--plugin-dir", pluginDir, "--log-level", "trace", "--var", "url=" + srv.URL, "--var", "ca_file=" + caFile,
		"--var", "realm=flt-idb02", "--var", "client_id=ci-bot"}
	onboard := filepath.Join(flowtest.RepoRoot(), "flows", "vcf", "onboard.star")
	// token_name is onboard's only: run refuses a var the flow does not read.
	ob := append([]string{"--var", "token_name=main"}, common...)
	rotate := filepath.Join(flowtest.RepoRoot(), "flows", "vcf", "rotate.star")
	leaky := filepath.Join(dir, "leaky.star")
	os.WriteFile(leaky, []byte(`load("vcf.star", "vcf_connect")
vcf = vcf_connect()
realm = vcf.find_realm(name = var("realm"))
tok = vcf.issue_token(realm_id = realm.id, api_client_id = var("client_id"), token_name = "leak")
print("printing the token:", tok.token, str(tok.token), repr(tok))
vcf.find_realm(name = tok.token)
`), 0o644)

	var all bytes.Buffer
	run := func(wantCode int, args ...string) {
		t.Helper()
		streams, out, errOut := cli.TestStreams()
		code := cli.Run(context.Background(), args, streams)
		if code != wantCode {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errOut)
		}
		all.Write(out.Bytes())
		all.Write(errOut.Bytes())
	}
	run(2, append([]string{"run", onboard, "--dry-run"}, ob...)...)
	run(2, append([]string{"run", onboard, "--dry-run", "--json"}, ob...)...)
	run(0, append([]string{"run", onboard, "--record", cassette}, ob...)...)
	run(0, append([]string{"run", rotate, "--json", "--var", "window=400d"}, common...)...)
	run(0, append([]string{"run", onboard, "--replay", cassette}, ob...)...)
	run(1, append([]string{"run", leaky, "--lib", filepath.Join(flowtest.RepoRoot(), "flows", "lib")}, common...)...)
	run(1, append([]string{"run", leaky, "--json", "--lib", filepath.Join(flowtest.RepoRoot(), "flows", "lib")}, common...)...)

	// The ledger and the store, every way they print.
	run(0, "runs", "--json")
	run(0, "runs")
	run(0, "tokens", "--json")
	run(0, "tokens")
	run(0, "tokens", "show", "vcf/ci-bot/main", "--json")
	streams, out, _ := cli.TestStreams()
	cli.Run(context.Background(), []string{"runs", "--json"}, streams)
	var runs []struct{ ID string }
	json.Unmarshal(out.Bytes(), &runs)
	if len(runs) < 3 {
		t.Fatalf("journal holds %d runs, want the applied ones", len(runs))
	}
	for _, r := range runs {
		run(0, "runs", "show", r.ID)
		run(0, "runs", "show", r.ID, "--json")
	}
	for _, f := range []string{"state.db", "state.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(dir, "state", f)); err == nil {
			all.Write(b)
		}
	}

	cas, err := os.ReadFile(cassette)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(cas)

	capture.mu.Lock()
	secrets := append([]string{password}, capture.tokens...)
	capture.mu.Unlock()
	if len(secrets) < 4 {
		t.Fatalf("captured only %d secrets; the test is not exercising OpsTokens and API tokens", len(secrets))
	}
	text := all.String()
	for _, sec := range secrets {
		for _, f := range forms(sec) {
			if strings.Contains(text, f) {
				i := strings.Index(text, f)
				t.Errorf("secret form %q found in output: ...%s...", f, text[max(0, i-80):min(len(text), i+80)])
			}
		}
	}
	// The outputs did say something: the masks are there.
	if !strings.Contains(text, "printing the token: *** ***") || !strings.Contains(string(cas), `"password":"__tokenflow_secret_`) {
		t.Fatal("expected masked values in the output")
	}
	_ = io.Discard
}
