package distributed_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TestDryRunAsWorkflow: a dry-run submitted to Temporal sends the reads,
// holds every write on the worker and returns the plan; the vendor sees no
// write and the journal no run.
func TestDryRunAsWorkflow(t *testing.T) {
	cl := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, err := distributed.Bundle(flowtest.Flow("vcf", "onboard.star"), "", cl.vars(), "")
	if err != nil {
		t.Fatal(err)
	}
	in.DryRun = true
	run, _, err := distributed.SubmitOnce(ctx, cl.c, in, distributed.SubmitOptions{TaskQueue: cl.queue})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(run.GetID(), "tokenflow-plan-") {
		t.Errorf("dry-run workflow id %s: want one of its own (tokenflow-plan-...)", run.GetID())
	}
	res, err := distributed.Wait(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	rec := cl.sim.Recorder()
	if w := rec.Writes(); w != 0 {
		t.Errorf("the vendor saw %d writes during a dry-run, want none", w)
	}
	if rec.Count(http.MethodGet, "") == 0 {
		t.Error("the vendor saw no read: the dry-run did not run on the worker")
	}
	p := plan.FromSteps(res.Plan)
	if n := p.Pending(); n < 3 {
		t.Errorf("plan has %d pending changes, want the client, its roles and its token", n)
	}
	var text bytes.Buffer
	if err := p.WriteText(&text, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vcf.create_api_client", "POST ", "/api-clients", "(known after apply: ", "change(s) pending"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("plan:\n%s", text.String())
	if strings.Contains(text.String(), canaryPassword) {
		t.Error("the password appears in the plan")
	}
	if runs, err := cl.db.Runs(ctx, 10); err != nil || len(runs) != 0 {
		t.Errorf("a dry-run journaled %d runs (%v), want none", len(runs), err)
	}
}

// TestWriteParked: a write the vendor keeps refusing with a retryable error
// is retried a bounded number of times, then the run is parked in the
// shared journal and `tokenflow runs` says a person is needed.
func TestWriteParked(t *testing.T) {
	cl := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	tokens := "/suite-api/api/fleet-management/iam/ssorealms/" + realm + "/api-tokens"
	cl.sim.Faults().Add(simkit.Fault{Method: http.MethodPost, PathPrefix: tokens, Status: http.StatusServiceUnavailable})
	run := cl.submitOnboard(ctx, t)
	start := time.Now()
	_, err := distributed.Wait(ctx, run)
	if err == nil {
		t.Fatal("the run succeeded although the vendor refused every token request")
	}
	msg, parked := distributed.Failure(err)
	if !parked || !strings.Contains(msg, "vcf.issue_token") || !strings.Contains(msg, "needs a person") {
		t.Fatalf("workflow error %q (parked %v): want a parked issue_token", msg, parked)
	}
	t.Logf("parked after %s: %s", time.Since(start).Round(time.Second), msg)
	if n := len(cl.sim.Tokens(realm)); n != 0 {
		t.Errorf("the vendor holds %d tokens, want none", n)
	}
	runs, err := cl.db.Runs(ctx, 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("journal holds %d runs (%v), want 1", len(runs), err)
	}
	if runs[0].Status != distributed.StatusParked {
		t.Errorf("journal has the run as %q, want %q", runs[0].Status, distributed.StatusParked)
	}

	t.Setenv("TOKENFLOW_STATE_KEY", cl.keyFile)
	io, out, errOut := cli.TestStreams()
	if code := cli.Run(ctx, []string{"runs", "--state", cl.dbURL}, io); code != 0 {
		t.Fatalf("tokenflow runs exited %d: %s", code, errOut)
	}
	for _, want := range []string{runs[0].ID, "parked", "needs a person", "tokenflow runs show " + runs[0].ID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tokenflow runs lacks %q:\n%s", want, out)
		}
	}
	io, out, errOut = cli.TestStreams()
	if code := cli.Run(ctx, []string{"runs", "show", runs[0].ID, "--state", cl.dbURL}, io); code != 0 {
		t.Fatalf("tokenflow runs show exited %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), "This run is parked") || strings.Contains(out.String(), "--resume") {
		t.Errorf("tokenflow runs show does not say what to do with a parked run:\n%s", out)
	}
}

// TestReadRetriedByTemporal: a read the vendor refuses with a retryable
// error beyond the host transport's own retries is tried again by Temporal
// (as a write is), so a vendor that recovers within the activity's
// attempts does not fail the run.
func TestReadRetriedByTemporal(t *testing.T) {
	cl := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	realms := "/suite-api/api/fleet-management/iam/ssorealms"
	// The host transport sends a read four times; the fifth request is the
	// activity's second attempt.
	cl.sim.Faults().Add(simkit.Fault{Method: http.MethodGet, PathPrefix: realms, Status: http.StatusServiceUnavailable, Times: 4})
	run := cl.submitOnboard(ctx, t)
	if _, err := distributed.Wait(ctx, run); err != nil {
		msg, _ := distributed.Failure(err)
		t.Fatalf("the run failed although the vendor answered the read's second attempt: %s", msg)
	}
	if n := cl.sim.Recorder().Count(http.MethodGet, realms); n < 5 {
		t.Errorf("the vendor saw %d realm lookups, want the four refused and at least one more", n)
	}
}

// TestReadFailingForGoodFailsTheRunWithTheVendorsWords: once Temporal's
// attempts are spent, the read's error is the flow's, worded as a local
// run words it (not a Temporal activity error), and the run is not parked.
// With the payload codec, as the CLI runs: the op error travels in the
// failure's details, which are encrypted too.
func TestReadFailingForGoodFailsTheRunWithTheVendorsWords(t *testing.T) {
	cl := newClusterWith(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	realms := "/suite-api/api/fleet-management/iam/ssorealms"
	cl.sim.Faults().Add(simkit.Fault{Method: http.MethodGet, PathPrefix: realms, Status: http.StatusServiceUnavailable, Body: `{"message":"realm service restarting"}`})
	run := cl.submitOnboard(ctx, t)
	_, err := distributed.Wait(ctx, run)
	if err == nil {
		t.Fatal("the run succeeded although the vendor refused every realm lookup")
	}
	msg, parked := distributed.Failure(err)
	if parked {
		t.Errorf("a failed read parked the run: %s", msg)
	}
	for _, want := range []string{"vcf.find_realm", "HTTP 503", "realm service restarting", "(unavailable)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "activity error") || strings.Contains(msg, "retryable-") {
		t.Errorf("failure %q is Temporal's wording, not the op's", msg)
	}
	if n := cl.sim.Recorder().Count(http.MethodGet, realms); n != 5*4 {
		t.Errorf("the vendor saw %d realm lookups, want 5 attempts of 4", n)
	}
}

// TestWorkflowIDFor: one id per flow and target, whatever the vars; other
// targets, URLs and dry-runs get other ids.
func TestWorkflowIDFor(t *testing.T) {
	base := distributed.FlowInput{Flow: "/flows/vcf/rotate.star", Target: "vcf-001", Vars: map[string]string{"a": "1"},
		TLS: &engine.TargetTLS{URL: "https://10.0.0.1"}}
	id := distributed.WorkflowIDFor(base)
	if !strings.HasPrefix(id, "tokenflow-rotate.star-vcf-001-") {
		t.Errorf("id %q does not name the flow and the target", id)
	}
	same := base
	same.Vars = map[string]string{"a": "2"}
	if distributed.WorkflowIDFor(same) != id {
		t.Error("the vars changed the workflow id: a resubmission with a corrected var would run the target twice")
	}
	other, moved, plan := base, base, base
	other.Target = "vcf-002"
	moved.TLS = &engine.TargetTLS{URL: "https://10.0.0.2"}
	plan.DryRun = true
	for name, in := range map[string]distributed.FlowInput{"another target": other, "another URL": moved, "a dry-run": plan} {
		if distributed.WorkflowIDFor(in) == id {
			t.Errorf("%s has the same workflow id %s", name, id)
		}
	}
	if !strings.HasPrefix(distributed.WorkflowIDFor(plan), "tokenflow-plan-") {
		t.Errorf("dry-run id %q: want tokenflow-plan-...", distributed.WorkflowIDFor(plan))
	}
}

// TestSecretRefWithCredentials: an inventory credential answers
// secret("env:NAME") with its own reference, which the worker resolves;
// other names stay the worker's environment.
func TestSecretRefWithCredentials(t *testing.T) {
	ref := distributed.SecretRefWith("vcf-001", map[string]string{"VCF_PASSWORD": "file:/etc/tokenflow/vcf-001.pw"})
	for in, want := range map[string]string{
		"env:VCF_PASSWORD": "tfref:file:/etc/tokenflow/vcf-001.pw",
		"env:OTHER":        "tfref:env:OTHER",
		"file:/x":          "tfref:file:/x",
	} {
		if got, err := ref(in); err != nil || got != want {
			t.Errorf("secret(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
