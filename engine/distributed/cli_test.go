package distributed_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TestCLIWorkerAndRun: `tokenflow worker` and `tokenflow run --temporal`
// as a user types them, against an embedded Temporal and PostgreSQL.
func TestCLIWorkerAndRun(t *testing.T) {
	ts, dbURL, _ := cliCluster(t)
	s := sim.New(sim.Config{Clock: simkit.NewClock(time.Now().UTC()), Users: map[string]string{"admin": canaryPassword}})
	srv, caFile := flowtest.ServeTLS(t, s.Handler())
	s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
	temporal := []string{"--temporal", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace(), "--task-queue", "cli-test"}

	wctx, stop := context.WithCancel(context.Background())
	wio, _, werr := cli.TestStreams()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(wctx, append([]string{"worker", "--state", dbURL, "--plugin-dir", flowtest.Plugins(t, "vcf")}, temporal...), wio)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flow := []string{"run", flowtest.Flow("vcf", "onboard.star"),
		"--var", "url=" + srv.URL, "--var", "ca_file=" + caFile, "--var", "realm=flt-idb02",
		"--var", "client_id=ci-bot", "--var", "token_name=ci-bot-main"}

	// A dry-run first: the plan prints as a local one, exit 2, no write.
	pio, pout, perr := cli.TestStreams()
	if code := cli.Run(ctx, append(append(flow, "--dry-run"), temporal...), pio); code != 2 {
		t.Fatalf("dry-run exited %d, want 2 (changes pending)\nstdout:\n%s\nstderr:\n%s", code, pout, perr)
	}
	for _, want := range []string{"+ vcf.create_api_client", "would send: POST ", "(known after apply: ", "Plan: 4 change(s) pending"} {
		if !strings.Contains(pout.String(), want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, pout)
		}
	}
	if w := s.Recorder().Writes(); w != 0 {
		t.Fatalf("the dry-run sent %d writes", w)
	}

	rio, out, errOut := cli.TestStreams()
	code := cli.Run(ctx, append(flow, temporal...), rio)
	stop()
	wcode := <-done
	if code != 0 {
		t.Fatalf("run exited %d\nstdout:\n%s\nstderr:\n%s\nworker stderr:\n%s", code, out, errOut, werr)
	}
	if wcode != 0 {
		t.Errorf("worker exited %d after Ctrl-C:\n%s", wcode, werr)
	}
	t.Logf("tokenflow run --temporal printed:\n%s", out)
	for _, want := range []string{"Applied ", "Outputs:", "token_action", "issued", "client_created"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run output lacks %q:\n%s", want, out)
		}
	}
	for name, o := range map[string]string{"run stdout": out.String(), "run stderr": errOut.String(), "worker stderr": werr.String()} {
		if strings.Contains(o, canaryPassword) {
			t.Errorf("the password appears in the %s", name)
		}
	}
	if n := len(s.Tokens("9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02")); n != 1 {
		t.Errorf("the vendor holds %d tokens, want 1", n)
	}
}

// cliCluster starts an embedded Temporal and a PostgreSQL database for
// tests that drive the CLI, and makes the state key they share (named in
// TOKENFLOW_STATE_KEY) before any worker or run starts: each needs it (a
// run encrypts its payloads with it) and none may race to create it.
// VCF_PASSWORD is the canary.
func cliCluster(t *testing.T) (*temporaltest.TestServer, string, *state.Keyring) {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	dbURL := pg.NewDatabase(t)
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	t.Setenv("TOKENFLOW_STATE_KEY", keyFile)
	keys, err := state.LoadKeyring(keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VCF_PASSWORD", canaryPassword)
	return ts, dbURL, keys
}
