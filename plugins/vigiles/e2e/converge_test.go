package vigiles

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// dryRunPlan runs a flow with --dry-run and returns its result and plan text.
func dryRunPlan(t *testing.T, flow string, vars map[string]string) (*engine.Result, string) {
	t.Helper()
	res, err := run(t, flow, engine.Options{Vars: vars, DryRun: true})
	if err != nil {
		t.Fatalf("%s --dry-run: %v", flow, err)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	assertNoCanary(t, "the plan", plan.String())
	return res, plan.String()
}

func TestHeartbeatTwiceSendsNoWriteAndPlansNothing(t *testing.T) {
	e := start(t)
	for i := 0; i < 2; i++ {
		if _, err := run(t, "heartbeat.star", engine.Options{Vars: e.vars()}); err != nil {
			t.Fatal(err)
		}
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("heartbeat sent %d writes", w)
	}
	if res, plan := dryRunPlan(t, "heartbeat.star", e.vars()); res.Pending() != 0 || !strings.Contains(plan, "Plan: no changes.") {
		t.Fatalf("dry-run: %d pending\n%s", res.Pending(), plan)
	}
}

// TestScanWithReuseUploadsABuildOnce: keyed by content, the second scan of the same manifest finds
// it instead of uploading it again, and plans nothing; another build is uploaded.
func TestScanWithReuseUploadsABuildOnce(t *testing.T) {
	e := start(t)
	vars := e.vars("manifest", testdata("manifest.json"), "max_critical", "2", "reuse", "true")
	res, err := run(t, "scan.star", engine.Options{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	first := flowtest.Outputs(res)
	ms := e.sim.Manifests()
	if first["reused"] != false || len(ms) != 1 || !strings.HasPrefix(ms[0].Name, "manifest.json-") {
		t.Fatalf("first scan: outputs %v, manifests %+v", first, ms)
	}

	e.sim.Recorder().Reset()
	res, err = run(t, "scan.star", engine.Options{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	second := flowtest.Outputs(res)
	if w := e.sim.Recorder().Writes(); w != 0 || second["reused"] != true || second["manifest_token"] != first["manifest_token"] ||
		second["critical"] != first["critical"] || len(e.sim.Manifests()) != 1 {
		t.Fatalf("second scan: %d writes, outputs %v", w, second)
	}
	if res, plan := dryRunPlan(t, "scan.star", vars); res.Pending() != 0 || !strings.Contains(plan, "Plan: no changes.") {
		t.Fatalf("dry-run: %d pending\n%s", res.Pending(), plan)
	}

	// Another build is new work: uploaded, and planned as a write.
	other := e.vars("manifest", testdata("manifest-fixed.json"), "reuse", "true")
	if res, plan := dryRunPlan(t, "scan.star", other); res.Pending() == 0 || !strings.Contains(plan, "would send: POST "+e.url+"/api/v1/vigiles/manifests") {
		t.Fatalf("dry-run of another build: %d pending, want the upload\n%s", res.Pending(), plan)
	}
	if _, err := run(t, "scan.star", engine.Options{Vars: other}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Manifests()); n != 2 {
		t.Fatalf("%d manifests, want 2", n)
	}
}

// TestScanWithoutReuseIsAnAction: by default each scan uploads (a scan is an action), and the
// dry-run says so.
func TestScanWithoutReuseIsAnAction(t *testing.T) {
	e := start(t)
	vars := e.vars("manifest", testdata("manifest.json"), "max_critical", "2")
	for i := 0; i < 2; i++ {
		if _, err := run(t, "scan.star", engine.Options{Vars: vars}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.sim.Manifests()); n != 2 {
		t.Fatalf("%d manifests, want one per scan", n)
	}
	if res, _ := dryRunPlan(t, "scan.star", vars); res.Pending() == 0 {
		t.Fatal("the dry-run plans no upload")
	}
}
