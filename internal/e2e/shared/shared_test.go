// Package shared_test runs the CLI against a state shared in PostgreSQL
// (--state postgres://...): a throwaway PostgreSQL on loopback, the VCF
// simulator, the tokenflow binary.
package shared_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/pgstate"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/pgtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	code := pgtest.Main(m, &pg)
	flowtest.Cleanup()
	os.Exit(code)
}

// TestTwoMachinesShareOneState: two "machines" (processes with their own
// local state directories and one shared key file) point --state at one
// PostgreSQL database. One onboards; the other sees the run
// and the token, reruns the onboarding and converges on the stored token;
// the secrets are sealed in the database.
func TestTwoMachinesShareOneState(t *testing.T) {
	url := pg.NewDatabase(t)
	s := sim.New(sim.Config{})
	srv, caFile := flowtest.ServeTLS(t, s.Handler())
	s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
	flowtest.Plugins(t, "vcf")
	bin := flowtest.Binary(t, "./cmd/tokenflow", "tokenflow")
	key := filepath.Join(t.TempDir(), "shared-key.txt")
	run := func(home string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--state", url}, args...)...)
		cmd.Env = append(os.Environ(), "VCF_PASSWORD="+sim.DefaultPassword, "TOKENFLOW_STATE_KEY="+key, "XDG_STATE_HOME="+home)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if strings.Contains(out.String()+errOut.String(), url) {
			t.Errorf("the database URL was printed:\n%s%s", out.String(), errOut.String())
		}
		if err != nil {
			return out.String() + errOut.String(), err
		}
		return out.String(), err
	}
	onboard := []string{"run", flowtest.Flow("vcf", "onboard.star"), "--var", "url=" + srv.URL, "--var", "ca_file=" + caFile,
		"--var", "realm=flt-idb02", "--var", "client_id=ci-bot", "--var", "token_name=ci-bot-main", "--json"}

	a, b := t.TempDir(), t.TempDir()
	out, err := run(a, onboard...)
	if err != nil {
		t.Fatalf("machine A onboarding: %v\n%s", err, out)
	}
	var first struct {
		RunID   string         `json:"run_id"`
		Outputs map[string]any `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(out), &first); err != nil || first.Outputs["token_action"] != "issued" {
		t.Fatalf("machine A: %v\n%s", err, out)
	}

	out, err = run(b, "runs", "--json")
	if err != nil || !strings.Contains(out, first.RunID) {
		t.Fatalf("machine B does not see A's run %s: %v\n%s", first.RunID, err, out)
	}
	out, err = run(b, "tokens", "--json")
	if err != nil || !strings.Contains(out, "vcf/ci-bot/ci-bot-main") {
		t.Fatalf("machine B does not see A's token: %v\n%s", err, out)
	}
	before := s.Recorder().Writes()
	out, err = run(b, onboard...)
	if err != nil || !strings.Contains(out, `"token_action": "kept"`) {
		t.Fatalf("machine B's rerun did not converge on A's token: %v\n%s", err, out)
	}
	if w := s.Recorder().Writes() - before; w != 0 {
		t.Errorf("machine B's rerun sent %d write(s)", w)
	}

	// The token is sealed in the database: open it with the key, and no
	// row holds it in clear.
	keys, err := state.LoadKeyring(key, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgstate.Open(context.Background(), pgstate.Options{URL: url, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tok, err := db.Get(context.Background(), srv.URL, "vcf/ci-bot/ci-bot-main")
	if err != nil || tok.Value == "" {
		t.Fatalf("the shared store has no token: %v", err)
	}
	found, err := pgtest.RowsContaining(context.Background(), url, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("rows of the shared state hold the token in clear: %v", found)
	}
}
