package dist_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TestFleetTwoWorkersOneKilled onboards 50 simulated VCF appliances with two
// `tokenflow worker` processes and SIGKILLs one of them while token writes
// are in flight. The other worker takes over: every target ends with
// exactly one client and one token at its appliance, the token stored as
// the only current version and accepted by the appliance, and each create
// applied once.
func TestFleetTwoWorkersOneKilled(t *testing.T) {
	const n = 50
	cl := newCluster(t, n, "dist-kill")
	// Every token request waits at the appliance: once the first tokens
	// are out, most others are in flight, about half of them on the
	// worker about to die.
	for _, r := range cl.fleet.Instances {
		cl.sim(r.Name).Faults().Add(simkit.Fault{Method: http.MethodPost, PathPrefix: realmPath + "/api-tokens", Latency: 2 * time.Second})
	}
	doomed := cl.startWorker()
	survivor := cl.startWorker()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	cmd := cl.command(ctx, append([]string{"run", flowtest.Flow("vcf", "onboard.star"), "--targets", cl.inv, "--json"}, cl.temporalArgs()...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	issued := func() int {
		k := 0
		for _, r := range cl.fleet.Instances {
			k += applied(cl.sim(r.Name), http.MethodPost, realmPath+"/api-tokens")
		}
		return k
	}
	killedAt := time.Duration(0)
	for ctx.Err() == nil && killedAt == 0 {
		if issued() >= 3 {
			doomed.kill()
			killedAt = time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := cmd.Wait()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) || ctx.Err() != nil {
		t.Fatalf("tokenflow run: %v (after %s; worker killed after %s, %d tokens issued)\nstdout:\n%s\nstderr:\n%s\nsurvivor:\n%s", err, elapsed, killedAt, issued(), out.String(), errb.String(), survivor.stderr)
	}
	if err != nil {
		t.Fatalf("tokenflow run exited %d after %s\nstdout:\n%s\nstderr:\n%s\nsurvivor:\n%s", ee.ExitCode(), elapsed, out.String(), errb.String(), survivor.stderr)
	}
	lines, sum := parse(t, out.String())
	if len(lines) != n || sum.Summary.Counts["ok"] != n {
		t.Fatalf("%d target lines, summary %+v: want %d ok\n%s", len(lines), sum.Summary, n, out.String())
	}
	t.Logf("%d targets onboarded by two workers in %s; one worker SIGKILLed after %s (%.1f targets/s)", n, elapsed.Round(time.Millisecond), killedAt.Round(time.Millisecond), float64(n)/elapsed.Seconds())

	bg := context.Background()
	for _, r := range cl.fleet.Instances {
		s := cl.sim(r.Name)
		if c, k := len(s.APIClients(realmID)), len(s.Tokens(realmID)); c != 1 || k != 1 {
			t.Errorf("%s holds %d clients and %d tokens, want one of each", r.Name, c, k)
		}
		for _, w := range []string{realmPath + "/api-clients", realmPath + "/api-tokens"} {
			if a := applied(s, http.MethodPost, w); a != 1 {
				t.Errorf("%s: POST %s applied %d times, want once", r.Name, w, a)
			}
		}
		versions, err := cl.db.Versions(bg, r.Name, vcfToken)
		if err != nil {
			t.Fatal(err)
		}
		current := 0
		for _, v := range versions {
			if v.State == store.Current {
				current++
				if !s.TokenSecretValid(v.Value) {
					t.Errorf("%s: the current token is not one the appliance accepts", r.Name)
				}
			}
		}
		if current != 1 {
			t.Errorf("%s: %d current versions of %s in the shared store, want 1", r.Name, current, vcfToken)
		}
	}

	// The kill landed during writes: some write activities needed a second
	// attempt, on the survivor.
	retried := retriedWrites(t, cl, lines)
	if retried == 0 {
		t.Error("no write activity was retried: the kill did not interrupt a write")
	}
	t.Logf("%d write activities were retried after the kill", retried)

	// Submitting the fleet again runs it again, as a local run would, and
	// it converges: every target ok, no write sent.
	again, errAgain, code, _ := cl.run(60*time.Second, "vcf/onboard.star")
	if _, s := parse(t, again); code != 0 || s.Summary.Counts["ok"] != n {
		t.Errorf("resubmitted fleet: exit %d, counts %v, want %d ok\n%s\n%s", code, s.Summary.Counts, n, again, errAgain)
	}
	for _, r := range cl.fleet.Instances {
		if a := applied(cl.sim(r.Name), http.MethodPost, realmPath+"/api-tokens"); a != 1 {
			t.Errorf("%s: after the resubmission POST api-tokens applied %d times, want once", r.Name, a)
		}
	}

	for name, o := range map[string]string{"run stdout": out.String(), "run stderr": errb.String(), "survivor stderr": survivor.stderr.String()} {
		for _, pw := range cl.fleet.Env() {
			if strings.Contains(o, pw) {
				t.Errorf("a credential appears in the %s", name)
			}
		}
	}
}

// retriedWrites counts the write op activities whose last attempt was not
// the first, over the targets' workflow histories, and checks that no
// credential of the fleet is in any of them in clear.
func retriedWrites(t *testing.T, cl *cluster, lines []line) int {
	t.Helper()
	c := cl.ts.GetDefaultClient()
	n := 0
	for _, l := range lines {
		// The journal's run id is "wf-<workflow id>-<run id>".
		const runIDLen = 36
		if len(l.RunID) < 3+runIDLen+1 {
			t.Fatalf("run id %q is not a workflow's", l.RunID)
		}
		wfID := l.RunID[3 : len(l.RunID)-runIDLen-1]
		scheduled := map[int64]string{}
		it := c.GetWorkflowHistory(context.Background(), wfID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			raw, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, pw := range cl.fleet.Env() {
				if bytes.Contains(raw, []byte(pw)) {
					t.Errorf("a credential is in clear in the history of %s (event %d)", wfID, ev.GetEventId())
				}
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled[ev.GetEventId()] = a.ActivityId
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.Attempt > 1 {
				id := scheduled[a.ScheduledEventId]
				for _, w := range []string{".create_api_client/", ".assign_roles/", ".issue_token/"} {
					if strings.Contains(id, w) {
						n++
					}
				}
			}
		}
	}
	return n
}
