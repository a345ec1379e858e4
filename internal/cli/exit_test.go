package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// kitFlow writes a flow for the testkit plugin, built as "clikit" so the
// engine tests' pgrep for testkit processes never sees these.
func kitFlow(t *testing.T, src string) (flow, pluginDir string) {
	t.Helper()
	pluginDir = filepath.Dir(flowtest.Binary(t, "./internal/testkit", "tokenflow-plugin-clikit"))
	flow = filepath.Join(t.TempDir(), "flow.star")
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return flow, pluginDir
}

func TestJSONCarriesThePluginErrorCode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "900")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	flow, dir := kitFlow(t, `k = connect("clikit", url = "`+srv.URL+`")
k.create(name = "a")`)
	io, out, errOut := cli.TestStreams()
	code := cli.Run(context.Background(), []string{"run", "--no-state", "--json", "--allow-http", "--plugin-dir", dir, flow}, io)
	if code != cli.ExitError {
		t.Fatalf("exit %d, want %d; stderr %s", code, cli.ExitError, errOut)
	}
	var j struct {
		Status    string `json:"status"`
		ErrorCode string `json:"error_code"`
	}
	if err := json.Unmarshal(out.Bytes(), &j); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if j.Status != "error" || j.ErrorCode != "rate_limited" {
		t.Fatalf("status %q, error_code %q", j.Status, j.ErrorCode)
	}
}

func TestInterruptedRunExitsResumable(t *testing.T) {
	flow, dir := kitFlow(t, `k = connect("clikit", url = "http://127.0.0.1:1")
k.echo(text = "a")
k.hang()`)
	state := filepath.Join(t.TempDir(), "state")
	os.Mkdir(state, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	io, _, errOut := cli.TestStreams()
	code := cli.Run(ctx, []string{"run", "--state", state, "--allow-http", "--plugin-dir", dir, flow}, io)
	if code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, cli.ExitInterrupted, errOut)
	}
	if !strings.Contains(errOut.String(), "was interrupted; continue it with: tokenflow run --resume ") {
		t.Fatalf("stderr: %s", errOut)
	}
	// The journal agrees.
	io, out, _ := cli.TestStreams()
	cli.Run(context.Background(), []string{"runs", "--state", state}, io)
	if !strings.Contains(out.String(), "interrupted") {
		t.Fatalf("runs: %s", out)
	}
}

// Plugin log lines arrive on go-plugin's goroutines while the flow prints
// on its own; under -race this caught unsynchronised writes to stderr.
func TestPluginLogsAndFlowOutputShareStderrSafely(t *testing.T) {
	flow, dir := kitFlow(t, `k = connect("clikit", url = "http://127.0.0.1:1", password = "cli-canary-pw-4411")
for i in range(3):
    k.log_secret()
    print("after", i)`)
	io, _, errOut := cli.TestStreams()
	code := cli.Run(context.Background(), []string{"run", "--no-state", "--allow-http", "--log-level", "debug", "--plugin-dir", dir, flow}, io)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := errOut.String()
	if !strings.Contains(s, "after 2") || !strings.Contains(s, "leaking on purpose") || strings.Contains(s, "cli-canary-pw-4411") {
		t.Fatalf("stderr: %s", s)
	}
}
