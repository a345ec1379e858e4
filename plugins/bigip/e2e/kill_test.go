package bigip_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// cli runs the tokenflow binary as its own process, with a state directory,
// so a failpoint can kill it (SIGKILL) between the steps of a flow.
type cli struct {
	t     *testing.T
	e     *env
	bin   string
	state string
}

func newCLI(t *testing.T, e *env) *cli {
	t.Helper()
	flowtest.Plugins(t, "bigip")
	dir := filepath.Join(t.TempDir(), "state") // the state directory must be private
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, e: e, bin: flowtest.Binary(t, "./cmd/tokenflow", "tokenflow"), state: dir}
}

func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	full := append([]string{"--state", c.state, "run"}, args...)
	cmd := exec.Command(c.bin, full...)
	cmd.Env = append(os.Environ(), "BIGIP_PASSWORD="+c.e.password)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cli) flow(name string, extra ...string) (string, error) {
	c.t.Helper()
	args := []string{flowtest.Flow("bigip", name)}
	for k, v := range c.e.vars {
		args = append(args, "--var", k+"="+v)
	}
	return c.run(append(args, extra...)...)
}

// db opens the state database for a look; close it before the next run.
func (c *cli) db() *state.DB {
	c.t.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: c.state})
	if err != nil {
		c.t.Fatal(err)
	}
	return db
}

func (c *cli) versions() (current store.Token, all []store.Token) {
	c.t.Helper()
	db := c.db()
	defer db.Close()
	all, err := db.Versions(context.Background(), c.e.srv.URL, storeName)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, v := range all {
		if v.State == store.Current {
			current = v
		}
	}
	if current.Value == "" {
		c.t.Fatalf("no current version of %s: %v", storeName, states(all))
	}
	return current, all
}

func (c *cli) lastRun() state.Run {
	c.t.Helper()
	db := c.db()
	defer db.Close()
	runs, err := db.Runs(context.Background(), 1)
	if err != nil || len(runs) != 1 {
		c.t.Fatalf("runs: %v %v", runs, err)
	}
	return runs[0]
}

// TestRotateKilledBetweenStepsNeverLosesTheToken kills rotate.star (SIGKILL
// through the engine's failpoints) before and after each of its four vendor
// steps (log in, extend, verify, revoke the old token), then checks the
// state database's token store: its current token is valid on the
// simulator, and the old one was not revoked unless the new one had been
// stored, verified and promoted first. Then the run is resumed (or, when the
// engine refuses because the store moved on, started afresh) and must end
// with exactly one valid token, the old one revoked.
func TestRotateKilledBetweenStepsNeverLosesTheToken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the tokenflow binary 30 times")
	}
	for _, fp := range []string{"inflight:1", "after:1", "inflight:2", "after:2", "inflight:3", "after:3", "inflight:4", "after:4"} {
		t.Run(fp, func(t *testing.T) {
			e := newEnv(t)
			c := newCLI(t, e)
			if out, err := c.flow("session.star"); err != nil {
				t.Fatalf("session.star: %v\n%s", err, out)
			}
			oldVersion, _ := c.versions()
			old := oldVersion.Value
			e.sim.Recorder().Reset()

			out, err := c.flow("rotate.star", "--failpoint", fp)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Exited() {
				t.Fatalf("the run was not killed: %v\n%s", err, out)
			}

			// The new token is promoted between the verification (step 3)
			// and the revocation (step 4).
			promoted := strings.HasSuffix(fp, ":4")
			cur, all := c.versions()
			if promoted != (cur.Value != old) {
				t.Fatalf("the current token is the new one: %v, want %v (versions %v)", cur.Value != old, promoted, states(all))
			}
			if !e.sim.TokenValid(cur.Value) {
				t.Fatalf("after the kill the stored current token is not valid (versions %v)", states(all))
			}
			if !e.sim.TokenValid(old) {
				if cur.Value == old {
					t.Fatal("the old token was revoked while it is still the current one")
				}
				// The new one was read back with itself before the DELETE.
				verified := false
				for _, en := range e.sim.Recorder().Entries() {
					if en.Method == http.MethodGet && en.Path == tokensPath+"/"+cur.Value && en.Status == 200 {
						verified = true
					}
					if en.Method == http.MethodDelete && en.Path == tokensPath+"/"+old && !verified {
						t.Fatal("the old token was revoked before the new one was verified")
					}
				}
			}

			// Resume finishes the rotation wherever it was killed: the
			// revocations come last in flows/lib/rotation.star, so the
			// resumed run replays the same steps in the same order.
			killed := c.lastRun()
			if out, err = c.run("--resume", killed.ID); err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}

			cur, all = c.versions()
			if !e.sim.TokenValid(cur.Value) || cur.Value == old || e.sim.TokenValid(old) {
				t.Fatalf("after recovering: current valid %v, old still valid %v (versions %v)", e.sim.TokenValid(cur.Value), e.sim.TokenValid(old), states(all))
			}
			for _, v := range all {
				if v.State == store.Previous {
					t.Fatalf("a replaced version is left unrevoked: %v", states(all))
				}
				if v.ID == oldVersion.ID && v.State != store.Revoked {
					t.Fatalf("the old version is %s, want revoked", v.State)
				}
			}
		})
	}
}

func states(vs []store.Token) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID+"="+v.State)
	}
	return out
}
