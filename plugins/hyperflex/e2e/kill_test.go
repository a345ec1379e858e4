package hyperflex

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
)

// cli runs the tokenflow binary as its own process with a state directory, so a failpoint can
// kill it (SIGKILL) at a step boundary.
type cli struct {
	t     *testing.T
	e     *env
	bin   string
	state string
}

func newCLI(t *testing.T, e *env) *cli {
	t.Helper()
	flowtest.Plugins(t, "hyperflex")
	dir := filepath.Join(t.TempDir(), "state") // the state directory must be private
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, e: e, bin: flowtest.Binary(t, "./cmd/tokenflow", "tokenflow"), state: dir}
}

func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--state", c.state, "run"}, args...)...)
	cmd.Env = append(os.Environ(), "HX_PASSWORD="+canaryPassword)
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), canaryPassword) {
		c.t.Fatalf("the password shows in the output:\n%s", out)
	}
	return string(out), err
}

func (c *cli) flow(name string, extra ...string) (string, error) {
	c.t.Helper()
	args := []string{flowtest.Flow("hyperflex", name), "--var", "url=" + c.e.url, "--var", "ca_file=" + c.e.caFile,
		"--var", "token_file=" + c.e.tokenFile}
	return c.run(append(args, extra...)...)
}

// current is the stored current access token (the store is closed again before returning).
func (c *cli) current() string {
	c.t.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: c.state})
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	tok, err := db.Get(context.Background(), c.e.url, c.e.storeName())
	if err != nil {
		c.t.Fatalf("stored token: %v", err)
	}
	return tok.Value
}

func (c *cli) lastRunID() string {
	c.t.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: c.state})
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(context.Background(), 1)
	if err != nil || len(runs) != 1 {
		c.t.Fatalf("runs: %v %v", runs, err)
	}
	return runs[0].ID
}

// TestRefreshKilledAndResumedKeepsOneValidToken kills token.star while it refreshes an expired
// token (steps: 1 decode_token_file, 2 validate_token, 3 refresh_token, 4 encode_token_file),
// resumes the run, and checks that the file and the store end with the same live pair, that no
// login happened unless the refresh's answer was lost, and that a rerun then sends no write and
// a dry-run plans nothing.
func TestRefreshKilledAndResumedKeepsOneValidToken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the tokenflow binary")
	}
	for _, fp := range []string{"inflight:3", "after:3", "after:4"} {
		t.Run(fp, func(t *testing.T) {
			e := newEnv(t, sim.Config{})
			c := newCLI(t, e)
			if out, err := c.flow("token.star"); err != nil {
				t.Fatalf("token.star: %v\n%s", err, out)
			}
			old := e.readTokenFile()
			e.sim.Clock().Advance(19 * 24 * time.Hour) // the access token expired: refresh
			e.sim.Recorder().Reset()

			out, err := c.flow("token.star", "--failpoint", fp)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Exited() {
				t.Fatalf("the run was not killed: %v\n%s", err, out)
			}
			if n := e.count(sim.TokenPath); n != 1 {
				t.Fatalf("%d refreshes before the kill, want 1", n)
			}
			// The kill came before the file was written: it still holds the old pair.
			if f := e.readTokenFile(); f.AccessToken != old.AccessToken {
				t.Fatal("the file changed before the kill")
			}

			if out, err := c.run("--resume", c.lastRunID()); err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}
			f := e.readTokenFile()
			if !e.sim.AccessTokenValid(f.AccessToken, "READ") || !e.sim.RefreshTokenValid(f.RefreshToken) {
				t.Fatal("after resuming, the file does not hold a live pair")
			}
			if c.current() != f.AccessToken {
				t.Fatal("the store and the file disagree")
			}
			// A refresh whose answer was journaled is replayed, not sent again; one whose
			// answer was lost is sent again, refused (the old pair is gone), and the flow logs in.
			logins, refreshes := 0, 1
			if fp == "inflight:3" {
				logins, refreshes = 1, 2
			}
			if n := e.count(sim.AuthPath); n != logins {
				t.Fatalf("%d logins while recovering, want %d", n, logins)
			}
			if n := e.count(sim.TokenPath); n != refreshes {
				t.Fatalf("%d refreshes in all, want %d", n, refreshes)
			}

			e.sim.Recorder().Reset()
			if out, err := c.flow("token.star"); err != nil || e.sim.Recorder().Writes() != 0 {
				t.Fatalf("rerun: %v, %d writes\n%s", err, e.sim.Recorder().Writes(), out)
			}
			out, err = c.flow("token.star", "--dry-run")
			if err != nil || !strings.Contains(out, "Plan: no changes.") {
				t.Fatalf("dry-run after recovering: %v\n%s", err, out)
			}
		})
	}
}
