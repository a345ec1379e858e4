package dist_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TestFleetDryRunThenParked: a distributed dry-run of a fleet plans every
// target and writes nothing; the apply that follows, with one appliance
// refusing token requests, parks that target for a person (exit 1) and
// finishes the others, and `tokenflow runs` says what to do.
func TestFleetDryRunThenParked(t *testing.T) {
	const n = 3
	cl := newCluster(t, n, "dist-park")
	cl.startWorker().ready(t)

	out, errOut, code, _ := cl.run(60*time.Second, "vcf/onboard.star", "--dry-run")
	_, s := parse(t, out)
	if code != 2 || s.Summary.Counts["pending"] != n {
		t.Fatalf("dry-run: exit %d, counts %v: want 2 and %d pending\n%s\n%s", code, s.Summary.Counts, n, out, errOut)
	}
	for _, r := range cl.fleet.Instances {
		rec := cl.sim(r.Name).Recorder()
		if w := rec.Writes(); w != 0 {
			t.Errorf("%s saw %d writes during the dry-run", r.Name, w)
		}
		if rec.Count(http.MethodGet, "") == 0 {
			t.Errorf("%s saw no read: the dry-run did not reach it", r.Name)
		}
	}
	if runs, err := cl.db.Runs(context.Background(), 10); err != nil || len(runs) != 0 {
		t.Errorf("the dry-run journaled %d runs (%v), want none", len(runs), err)
	}

	bad := cl.fleet.Instances[1].Name
	cl.sim(bad).Faults().Add(simkit.Fault{Method: http.MethodPost, PathPrefix: realmPath + "/api-tokens", Status: http.StatusServiceUnavailable})
	out, errOut, code, elapsed := cl.run(90*time.Second, "vcf/onboard.star")
	lines, s := parse(t, out)
	if code != 1 || s.Summary.Counts["ok"] != n-1 || s.Summary.Counts["parked"] != 1 {
		t.Fatalf("apply: exit %d, counts %v: want 1, %d ok and 1 parked\n%s\n%s", code, s.Summary.Counts, n-1, out, errOut)
	}
	for _, l := range lines {
		if l.Target == bad && (l.Status != "parked" || !strings.Contains(l.Error, "needs a person")) {
			t.Errorf("%s: %+v, want parked with what to do", bad, l)
		}
	}
	t.Logf("apply with %s refusing tokens: parked after %s", bad, elapsed.Round(time.Millisecond))

	cmd := cl.command(context.Background(), "runs")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		t.Fatalf("tokenflow runs: %v\n%s", err, b.String())
	}
	for _, want := range []string{"parked", bad, "needs a person", "tokenflow runs show "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tokenflow runs lacks %q:\n%s", want, b.String())
		}
	}
}
