package vcf_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

// cli runs the tokenflow binary against the env's simulator and state.
type cli struct {
	t        *testing.T
	e        *env
	bin      string
	stateDir string
}

func newCLI(t *testing.T, e *env) *cli {
	flowtest.Plugins(t, "vcf")
	return &cli{t: t, e: e, bin: flowtest.Binary(t, "./cmd/tokenflow", "tokenflow"), stateDir: filepath.Join(t.TempDir(), "state")}
}

// run runs tokenflow; killed reports a SIGKILL (the failpoint).
func (c *cli) run(args ...string) (out string, killed bool, err error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--state", c.stateDir}, args...)...)
	cmd.Env = append(os.Environ(), "VCF_PASSWORD="+sim.DefaultPassword)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ProcessState.String() == "signal: killed" {
		return string(b), true, nil
	}
	return string(b), false, err
}

func (c *cli) flow(name string, extra ...string) []string {
	args := []string{"run", flowtest.Flow("vcf", name)}
	keys := []string{"url", "ca_file", "realm", "client_id"}
	if name != "rotate.star" { // rotate reads no token_name, and run refuses a var the flow does not read
		keys = append(keys, "token_name")
	}
	for _, k := range keys {
		args = append(args, "--var", k+"="+c.e.vars[k])
	}
	return append(args, extra...)
}

func (c *cli) lastRun() string {
	c.t.Helper()
	out, _, err := c.run("runs", "--json", "--limit", "1")
	if err != nil {
		c.t.Fatalf("runs: %v\n%s", err, out)
	}
	var runs []state.Run
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 1 {
		c.t.Fatalf("runs --json: %v %s", err, out)
	}
	return runs[0].ID
}

func (c *cli) versions(name string) []store.Token {
	c.t.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: c.stateDir})
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Versions(context.Background(), c.e.srv.URL, name)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// TestKillRotationAtEveryStepBoundary kills tokenflow (SIGKILL) at every step
// boundary of the VCF rotate flow, before and after each step's result is
// journaled, then resumes: exactly one current token must be stored, valid
// on the vendor, the old secret dead, and no extra token on the vendor.
func TestKillRotationAtEveryStepBoundary(t *testing.T) {
	// rotate.star: 1 find_realm, 2 query_tokens, 3 regenerate_token, 4 verify_token
	for _, fp := range []string{"inflight:1", "after:1", "inflight:2", "after:2", "inflight:3", "after:3", "inflight:4", "after:4"} {
		t.Run(fp, func(t *testing.T) {
			e := newEnv(t)
			c := newCLI(t, e)
			if out, _, err := c.run(c.flow("onboard.star")...); err != nil {
				t.Fatalf("onboard: %v\n%s", err, out)
			}
			name := "vcf/ci-bot/ci-bot-main"
			old := c.versions(name)[0].Value
			e.sim.Clock().Advance(25 * 24 * time.Hour)

			out, killed, err := c.run(c.flow("rotate.star", "--var", "window=7d", "--failpoint", fp)...)
			if !killed {
				t.Fatalf("not killed at %s: %v\n%s", fp, err, out)
			}
			// Killed mid-rotation, the store still holds a token.
			if cur := current(c.versions(name)); cur == nil {
				t.Fatalf("after the kill at %s no current token is stored", fp)
			}
			run := c.lastRun()
			if out, _, err := c.run("run", "--resume", run); err != nil {
				t.Fatalf("resume %s: %v\n%s", run, err, out)
			}

			versions := c.versions(name)
			cur := current(versions)
			if cur == nil || !e.sim.TokenSecretValid(cur.Value) {
				t.Fatalf("no valid current token after resume: %+v", states(versions))
			}
			if cur.Value == old || e.sim.TokenSecretValid(old) {
				t.Fatal("the old secret is still in use or still live")
			}
			for _, v := range versions {
				if v.ID != cur.ID && v.State != store.Revoked {
					t.Errorf("version %s left %s", v.ID, v.State)
				}
			}
			realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
			if n := len(e.sim.Tokens(realm)); n != 1 {
				t.Fatalf("the simulator holds %d tokens, want 1", n)
			}
		})
	}
}

// TestResumeOnboardingDoesNotCreateASecondClient kills onboarding around
// create_api_client and resumes. onboard.star on a fresh realm: 1 find_realm,
// 2 find_api_client, 3 create_api_client, 4 assign_roles, 5 issue_token.
func TestResumeOnboardingDoesNotCreateASecondClient(t *testing.T) {
	for _, fp := range []string{"inflight:3", "after:3", "inflight:5", "after:4"} {
		t.Run(fp, func(t *testing.T) {
			e := newEnv(t)
			c := newCLI(t, e)
			out, killed, err := c.run(c.flow("onboard.star", "--failpoint", fp)...)
			if !killed {
				t.Fatalf("not killed: %v\n%s", err, out)
			}
			run := c.lastRun()
			if out, _, err := c.run("run", "--resume", run); err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}
			realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
			if n := len(e.sim.APIClients(realm)); n != 1 {
				t.Fatalf("%d API clients after resume, want 1", n)
			}
			if n := len(e.sim.Tokens(realm)); n != 1 {
				t.Fatalf("%d API tokens after resume, want 1", n)
			}
			cur := current(c.versions("vcf/ci-bot/ci-bot-main"))
			if cur == nil || !e.sim.TokenSecretValid(cur.Value) {
				t.Fatal("no valid token stored after resume")
			}
			// A completed run cannot be resumed again.
			if out, _, err := c.run("run", "--resume", run); err == nil || !strings.Contains(out, "nothing to resume") {
				t.Fatalf("second resume: %v\n%s", err, out)
			}
		})
	}
}

func TestResumeRefusesAChangedFlow(t *testing.T) {
	e := newEnv(t)
	c := newCLI(t, e)
	dir := t.TempDir()
	flow := filepath.Join(dir, "onboard.star")
	src, _ := os.ReadFile(flowtest.Flow("vcf", "onboard.star"))
	os.WriteFile(flow, src, 0o644)
	args := c.flow("onboard.star", "--failpoint", "after:2", "--lib", filepath.Join(flowtest.RepoRoot(), "flows", "lib"))
	args[1] = flow
	if _, killed, _ := c.run(args...); !killed {
		t.Fatal("not killed")
	}
	os.WriteFile(flow, append(src, []byte("\n# edited\n")...), 0o644)
	out, _, err := c.run("run", "--resume", c.lastRun())
	if err == nil || !strings.Contains(out, "changed since run") {
		t.Fatalf("resume of an edited flow: %v\n%s", err, out)
	}
}

func current(vs []store.Token) *store.Token {
	for i := range vs {
		if vs[i].State == store.Current {
			return &vs[i]
		}
	}
	return nil
}

func states(vs []store.Token) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID+"="+v.State)
	}
	return out
}

// TestRevokeRun revokes what an onboarding run issued: a plan first (exit 2
// without --yes, nothing sent), then the deletion.
func TestRevokeRun(t *testing.T) {
	e := newEnv(t)
	c := newCLI(t, e)
	if out, _, err := c.run(c.flow("onboard.star")...); err != nil {
		t.Fatalf("onboard: %v\n%s", err, out)
	}
	run := c.lastRun()
	realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	flows := filepath.Join(flowtest.RepoRoot(), "flows")
	args := []string{"revoke", "--run", run, "--flows", flows, "--var", "ca_file=" + e.caFile}
	out, _, err := c.run(args...)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("revoke without --yes: %v\n%s", err, out)
	}
	if !strings.Contains(out, "would send: DELETE "+e.srv.URL+"/suite-api/api/fleet-management/iam/ssorealms/"+realm+"/api-tokens/") || !strings.Contains(out, "Nothing was revoked") {
		t.Fatalf("plan:\n%s", out)
	}
	if n := len(e.sim.Tokens(realm)); n != 1 {
		t.Fatalf("the plan deleted a token (%d left)", n)
	}
	out, _, err = c.run(append(args, "--yes")...)
	if err != nil {
		t.Fatalf("revoke --yes: %v\n%s", err, out)
	}
	if n := len(e.sim.Tokens(realm)); n != 0 {
		t.Fatalf("%d tokens left on the simulator", n)
	}
	for _, v := range c.versions("vcf/ci-bot/ci-bot-main") {
		if v.State != store.Revoked {
			t.Fatalf("version %s is %s", v.ID, v.State)
		}
	}
	out, _, _ = c.run(args...)
	if !strings.Contains(out, "no live credential") {
		t.Fatalf("second revoke:\n%s", out)
	}
}
