package turbonomic_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
)

func (e *env) storeName() string {
	return "turbonomic/" + strings.TrimPrefix(e.srv.URL, "https://") + "/" + account
}

// noWrite runs a flow that must succeed without a write at Turbonomic.
func (e *env) noWrite(t *testing.T, flow string) map[string]any {
	t.Helper()
	e.sim.Recorder().Reset()
	res, err := e.run(t, flow, nil)
	if err != nil {
		t.Fatalf("%s: %v", flow, err)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("rerunning %s sent %d writes: %+v", flow, w, e.sim.Recorder().Entries())
	}
	return flowtest.Outputs(res)
}

// dryRun returns a dry-run's result and plan text; it fails on a write.
func (e *env) dryRun(t *testing.T, flow string) (*engine.Result, string) {
	t.Helper()
	e.sim.Recorder().Reset()
	res, err := e.run(t, flow, func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatalf("%s --dry-run: %v", flow, err)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("the dry-run of %s sent %d writes", flow, w)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	assertNoCanary(t, "the plan", plan.String(), adminPassword, accountPassword)
	return res, plan.String()
}

func (e *env) planNothing(t *testing.T, flow string) {
	t.Helper()
	res, plan := e.dryRun(t, flow)
	if res.Pending() != 0 || !strings.Contains(plan, "Plan: no changes.") {
		t.Fatalf("dry-run of %s after an apply: %d pending\n%s", flow, res.Pending(), plan)
	}
}

func TestShippedFlowsTwiceSendNoWriteAndPlanNothing(t *testing.T) {
	e := newEnv(t, sim.Config{})
	for _, flow := range []string{"service_account.star", "inventory.star"} {
		if _, err := e.run(t, flow, nil); err != nil {
			t.Fatalf("%s: %v", flow, err)
		}
		out := e.noWrite(t, flow)
		if flow == "service_account.star" && out["created"] != false {
			t.Fatalf("second run outputs %v", out)
		}
		e.planNothing(t, flow)
	}
	if vs, _ := e.store.Versions(t.Context(), e.srv.URL, e.storeName()); len(vs) != 1 {
		t.Fatalf("%d stored versions, want 1", len(vs))
	}
}

func TestOffboardNeedsConfirmPlansAndConverges(t *testing.T) {
	e := newEnv(t, sim.Config{})
	if _, err := e.run(t, "service_account.star", nil); err != nil {
		t.Fatal(err)
	}
	u, _ := e.sim.UserByName(account)

	// Without confirm: refused, naming the account and the var, before any write.
	e.sim.Recorder().Reset()
	_, err := e.run(t, "offboard.star", nil)
	if err == nil || !strings.Contains(err.Error(), "--var confirm="+account) || !strings.Contains(err.Error(), u.UUID) {
		t.Fatalf("offboard without confirm: %v", err)
	}
	if _, ok := e.sim.UserByName(account); !ok || e.sim.Recorder().Writes() != 0 {
		t.Fatal("offboard without confirm changed something")
	}

	e.vars["confirm"] = account
	res, plan := e.dryRun(t, "offboard.star")
	if res.Pending() != 2 || !strings.Contains(plan, "would send: DELETE "+e.srv.URL+sim.Base+"/users/"+u.UUID) {
		t.Fatalf("dry-run: %d pending\n%s", res.Pending(), plan)
	}
	if _, ok := e.sim.UserByName(account); !ok {
		t.Fatal("the dry-run deleted the account")
	}

	res, err = e.run(t, "offboard.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := flowtest.Outputs(res); out["deleted"] != true {
		t.Fatalf("outputs %v", out)
	}
	if _, ok := e.sim.UserByName(account); ok || e.sim.CheckPassword(account, accountPassword) {
		t.Fatal("the account still exists")
	}
	vs, _ := e.store.Versions(t.Context(), e.srv.URL, e.storeName())
	if len(vs) != 1 || vs[0].State != store.Revoked {
		t.Fatalf("stored versions %+v, want one revoked", vs)
	}

	// Again, with or without confirm: nothing to do, nothing sent.
	if out := e.noWrite(t, "offboard.star"); out["deleted"] != false {
		t.Fatalf("second offboard: %v", out)
	}
	delete(e.vars, "confirm")
	e.noWrite(t, "offboard.star")
	e.planNothing(t, "offboard.star")
}

// TestServiceAccountKilledAndResumed kills service_account.star (steps: 1 version, 2 get_users,
// 3 create_user, 4 login_check) around the create, resumes it, and checks that the account
// exists once with the stored password, and that a rerun then sends no write and plans nothing.
func TestServiceAccountKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the tokenflow binary")
	}
	flowtest.Plugins(t, "turbonomic")
	bin := flowtest.Binary(t, "./cmd/tokenflow", "tokenflow")
	for _, fp := range []string{"inflight:3", "after:3", "after:4"} {
		t.Run(fp, func(t *testing.T) {
			e := newEnv(t, sim.Config{})
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			cli := func(args ...string) (string, error) {
				cmd := exec.Command(bin, append([]string{"--state", dir, "run"}, args...)...)
				cmd.Env = append(os.Environ(), "TURBO_PASSWORD="+adminPassword, "TURBO_SA_PASSWORD="+accountPassword)
				out, err := cmd.CombinedOutput()
				assertNoCanary(t, "the CLI output", string(out), adminPassword, accountPassword)
				return string(out), err
			}
			flow := []string{flowtest.Flow("turbonomic", "service_account.star")}
			for k, v := range e.vars {
				flow = append(flow, "--var", k+"="+v)
			}

			out, err := cli(append(flow, "--failpoint", fp)...)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Exited() {
				t.Fatalf("the run was not killed: %v\n%s", err, out)
			}
			if _, ok := e.sim.UserByName(account); !ok {
				t.Fatal("the create did not reach Turbonomic before the kill")
			}

			db, err := state.Open(context.Background(), state.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			runs, err := db.Runs(context.Background(), 1)
			db.Close()
			if err != nil || len(runs) != 1 {
				t.Fatalf("runs: %v %v", runs, err)
			}
			e.sim.Recorder().Reset()
			if out, err := cli("--resume", runs[0].ID); err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}
			// The create is not sent again: it was journaled, or found by username.
			if w := e.sim.Recorder().Writes(); w != 0 {
				t.Fatalf("the resume sent %d writes: %+v", w, e.sim.Recorder().Entries())
			}
			u, ok := e.sim.UserByName(account)
			if !ok || u.RoleName != "OBSERVER" || !e.sim.CheckPassword(account, accountPassword) {
				t.Fatalf("after resuming: user %+v (found %v)", u, ok)
			}
			db, err = state.Open(context.Background(), state.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := db.Get(context.Background(), e.srv.URL, e.storeName())
			db.Close()
			if err != nil || tok.Value != accountPassword || tok.Labels["uuid"] != u.UUID {
				t.Fatalf("stored after resuming: %v (uuid label %q, want %q)", err, tok.Labels["uuid"], u.UUID)
			}

			e.sim.Recorder().Reset()
			if out, err := cli(flow...); err != nil || e.sim.Recorder().Writes() != 0 {
				t.Fatalf("rerun: %v, %d writes\n%s", err, e.sim.Recorder().Writes(), out)
			}
			if out, err := cli(append(flow, "--dry-run")...); err != nil || !strings.Contains(out, "Plan: no changes.") {
				t.Fatalf("dry-run after recovering: %v\n%s", err, out)
			}
		})
	}
}
