package distributed_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/pgstate"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TestCLISchedule: `tokenflow schedule create` runs the onboard flow every
// 2 s on a worker started with `tokenflow worker`; it fires at least twice
// and every run finishes (the second converges), list shows it, delete
// removes it. A schedule with --due then skips the target, whose token is
// not due.
func TestCLISchedule(t *testing.T) {
	ts, dbURL, keys := cliCluster(t)
	s := sim.New(sim.Config{Clock: simkit.NewClock(time.Now().UTC()), Users: map[string]string{"admin": canaryPassword}})
	srv, caFile := flowtest.ServeTLS(t, s.Handler())
	s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
	temporal := []string{"--temporal", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace(), "--task-queue", "sched-test"}

	wctx, stop := context.WithCancel(context.Background())
	wio, _, werr := cli.TestStreams()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(wctx, append([]string{"worker", "--state", dbURL, "--plugin-dir", flowtest.Plugins(t, "vcf"), "--rate", "vcf=50/s"}, temporal...), wio)
	}()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("worker exited %d:\n%s", code, werr)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tf := func(args ...string) (string, error) {
		t.Helper()
		io, out, errOut := cli.TestStreams()
		// The Temporal flags go before "--": what follows is the flow's.
		full := append([]string{}, args[:2]...)
		full = append(append(full, temporal...), args[2:]...)
		if code := cli.Run(ctx, full, io); code != 0 {
			return out.String(), &cliError{code: code, stderr: errOut.String()}
		}
		return out.String(), nil
	}
	flow := []string{"--", flowtest.Flow("vcf", "onboard.star"), "--var", "url=" + srv.URL, "--var", "ca_file=" + caFile,
		"--var", "realm=flt-idb02", "--var", "client_id=ci-bot", "--var", "token_name=ci-bot-main"}

	if _, err := tf(append([]string{"schedule", "create", "onboard", "--every", "2s", "--jitter", "200ms"}, flow...)...); err != nil {
		t.Fatal(err)
	}
	dc, err := distributed.DataConverterFor(keys)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.NewClientWithOptions(client.Options{DataConverter: dc})
	results := waitActions(ctx, t, c, "onboard", 2)
	for i, r := range results {
		if len(r.Ran) != 1 || len(r.Skipped) != 0 {
			t.Errorf("scheduled run %d: ran %v, skipped %v; want one flow run", i, r.Ran, r.Skipped)
		}
	}

	// Both runs finished in the journal; the vendor got one client and
	// holds one token (the second run converged).
	db, err := pgstate.Open(ctx, pgstate.Options{URL: dbURL, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, r := range runs {
		if strings.HasPrefix(r.ID, "wf-tokenflow-schedule-onboard-") && r.Status == "ok" {
			ok++
		}
	}
	if ok < 2 {
		t.Errorf("the journal has %d finished scheduled runs, want at least 2 (%d runs in all)", ok, len(runs))
	}
	realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	if n := countExact(s.Recorder(), http.MethodPost, "/suite-api/api/fleet-management/iam/ssorealms/"+realm+"/api-clients"); n != 1 {
		t.Errorf("the vendor got %d client creates, want 1", n)
	}
	if n := len(s.Tokens(realm)); n != 1 {
		t.Errorf("the vendor holds %d tokens, want 1", n)
	}

	// list shows it (visibility may lag a moment); delete removes it.
	waitList(ctx, t, tf, "onboard", true)
	if out, err := tf("schedule", "delete", "onboard"); err != nil || !strings.Contains(out, "Deleted schedule onboard") {
		t.Fatalf("schedule delete: %q, %v", out, err)
	}
	waitList(ctx, t, tf, "onboard", false)
	if _, err := tf("schedule", "delete", "onboard"); err == nil || !strings.Contains(err.Error(), "no schedule onboard") {
		t.Errorf("deleting it again: %v, want no schedule onboard", err)
	}

	// --due 1h: the token issued above is good for longer, so each run
	// skips the target and sends nothing.
	writes := s.Recorder().Writes()
	if _, err := tf(append([]string{"schedule", "create", "onboard-due", "--every", "2s", "--due", "1h"}, flow...)...); err != nil {
		t.Fatal(err)
	}
	for i, r := range waitActions(ctx, t, c, "onboard-due", 2) {
		if len(r.Ran) != 0 || len(r.Skipped) != 1 || r.Skipped[0] != srv.URL {
			t.Errorf("--due run %d: ran %v, skipped %v; want the target skipped", i, r.Ran, r.Skipped)
		}
	}
	if w := s.Recorder().Writes(); w != writes {
		t.Errorf("the --due schedule sent %d writes, want none", w-writes)
	}
	if _, err := tf("schedule", "delete", "onboard-due"); err != nil {
		t.Error(err)
	}
	if strings.Contains(werr.String(), canaryPassword) {
		t.Error("the password appears in the worker's stderr")
	}
}

type cliError struct {
	code   int
	stderr string
}

func (e *cliError) Error() string { return e.stderr }

// waitActions waits for n actions of the schedule to finish and returns
// their results.
func waitActions(ctx context.Context, t *testing.T, c client.Client, name string, n int) []distributed.ScheduleResult {
	t.Helper()
	h := c.ScheduleClient().GetHandle(ctx, name)
	for ctx.Err() == nil {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.RecentActions) >= n {
			var out []distributed.ScheduleResult
			for _, a := range d.Info.RecentActions[:n] {
				var r distributed.ScheduleResult
				if err := c.GetWorkflow(ctx, a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID).Get(ctx, &r); err != nil {
					t.Fatalf("scheduled run %s: %v", a.StartWorkflowResult.WorkflowID, err)
				}
				out = append(out, r)
			}
			return out
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("schedule %s did not fire %d times in time", name, n)
	return nil
}

func waitList(ctx context.Context, t *testing.T, tf func(...string) (string, error), name string, want bool) {
	t.Helper()
	var out string
	for ctx.Err() == nil {
		var err error
		if out, err = tf("schedule", "list"); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, name+" ") == want {
			if want && !strings.Contains(out, "2s") {
				t.Errorf("schedule list shows no interval:\n%s", out)
			}
			t.Logf("schedule list:\n%s", out)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("schedule list: %s listed %v, want %v:\n%s", name, !want, want, out)
}

// TestDueTargets: a target is due with no token, or a token expiring
// within the window or past its rotate_every; not due otherwise.
func TestDueTargets(t *testing.T) {
	ctx := context.Background()
	keys, err := state.LoadKeyring(filepath.Join(t.TempDir(), "key.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgstate.Open(ctx, pgstate.Options{URL: pg.NewDatabase(t), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	for _, tok := range []store.Token{
		{Target: "fresh", Name: "n", Vendor: "vcf", Value: "v1", CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)},
		{Target: "expiring", Name: "n", Vendor: "vcf", Value: "v2", CreatedAt: now, ExpiresAt: now.Add(2 * 24 * time.Hour)},
		// The store stamps CreatedAt: rotate_every 3d is past within 7d.
		{Target: "rotate-often", Name: "n", Vendor: "vcf", Value: "v3", Labels: map[string]string{"rotate_every": "3d"}},
		{Target: "rotate-rarely", Name: "n", Vendor: "vcf", Value: "v4", Labels: map[string]string{"rotate_every": "30d"}},
	} {
		if err := db.Put(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := distributed.DueTargets(ctx, db, []string{"fresh", "expiring", "rotate-often", "rotate-rarely", "none"}, 7*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, true, false, true}; !bytes.Equal(boolBytes(got), boolBytes(want)) {
		t.Errorf("due %v, want %v (fresh, expiring, rotate-often, rotate-rarely, none)", got, want)
	}
}

func boolBytes(bs []bool) []byte {
	out := make([]byte, len(bs))
	for i, b := range bs {
		if b {
			out[i] = 1
		}
	}
	return out
}

// TestCLIScheduleTargets: a schedule over a targets file starts one child
// flow per target; the target labelled site dc1 is run by the worker
// started with --sites dc1, the other by the plain worker. The dc1 target
// has a password of its own, named by its inventory credentials: the
// schedule carries the reference, the worker resolves it.
func TestCLIScheduleTargets(t *testing.T) {
	ts, dbURL, keys := cliCluster(t)
	const bPassword = "Canary-VCF-b-pw-19d2e!"
	t.Setenv("VCF_B_PASSWORD", bPassword)
	inv := "vars: {realm: flt-idb02, client_id: ci-bot, token_name: ci-bot-main}\ntargets:\n"
	sims := map[string]*sim.Sim{}
	for _, name := range []string{"vcf-a", "vcf-b"} {
		pw := canaryPassword
		if name == "vcf-b" {
			pw = bPassword
		}
		s := sim.New(sim.Config{Clock: simkit.NewClock(time.Now().UTC()), Users: map[string]string{"admin": pw}})
		srv, caFile := flowtest.ServeTLS(t, s.Handler())
		s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
		sims[name] = s
		inv += "  " + name + ": {vendor: vcf, url: \"" + srv.URL + "\", tls: {ca_file: \"" + caFile + "\"}"
		if name == "vcf-b" {
			inv += ", labels: {site: dc1}, credentials: {VCF_PASSWORD: \"env:VCF_B_PASSWORD\"}"
		}
		inv += "}\n"
	}
	invFile := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(invFile, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	temporal := []string{"--temporal", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace(), "--task-queue", "sched-test"}
	plugins := []string{"--plugin-dir", flowtest.Plugins(t, "vcf")}

	wctx, stop := context.WithCancel(context.Background())
	var workers []chan int
	var werrs []fmt.Stringer
	for _, extra := range [][]string{nil, {"--sites", "dc1"}} {
		wio, _, werr := cli.TestStreams()
		done := make(chan int, 1)
		args := append(append(append([]string{"worker", "--state", dbURL}, plugins...), temporal...), extra...)
		go func() { done <- cli.Run(wctx, args, wio) }()
		workers, werrs = append(workers, done), append(werrs, werr)
	}
	defer func() {
		stop()
		for i, done := range workers {
			if code := <-done; code != 0 {
				t.Errorf("worker %d exited %d:\n%s", i, code, werrs[i])
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	io, out, errOut := cli.TestStreams()
	args := append(append(append([]string{"schedule", "create", "fleet", "--every", "1h"}, plugins...), temporal...),
		"--", flowtest.Flow("vcf", "onboard.star"), "--targets", invFile)
	if code := cli.Run(ctx, args, io); code != 0 {
		t.Fatalf("schedule create exited %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), "on 2 targets") {
		t.Errorf("schedule create printed %q, want it to say 2 targets", out)
	}
	dc, err := distributed.DataConverterFor(keys)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.NewClientWithOptions(client.Options{DataConverter: dc})
	// An hourly schedule: trigger it now rather than wait.
	if err := c.ScheduleClient().GetHandle(ctx, "fleet").Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	r := waitActions(ctx, t, c, "fleet", 1)[0]
	if len(r.Ran) != 2 {
		t.Fatalf("the scheduled run ran %v, want one flow per target", r.Ran)
	}
	db, err := pgstate.Open(ctx, pgstate.Options{URL: dbURL, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, s := range sims {
		if n := len(s.Tokens("9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02")); n != 1 {
			t.Errorf("%s holds %d tokens, want 1", name, n)
		}
		tok, err := db.Get(ctx, name, "vcf/ci-bot/ci-bot-main")
		if err != nil || !s.TokenSecretValid(tok.Value) {
			t.Errorf("%s: no working token stored under the target's name (%v)", name, err)
		}
	}
	// The dc1 target's vendor calls went to the dc1 queue.
	hist := opQueues(ctx, t, c, r.Ran)
	if !strings.Contains(hist, "sched-test-ops-vcf-dc1") || !strings.Contains(hist, "sched-test-ops-vcf\x00") {
		t.Errorf("the children's vendor activities did not go to sched-test-ops-vcf and sched-test-ops-vcf-dc1")
	}
}

// opQueues joins the task queue names of the workflows' op
// activities, each followed by a NUL.
func opQueues(ctx context.Context, t *testing.T, c client.Client, ids []string) string {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.ActivityType.GetName() == "tokenflow.Op" {
				b.WriteString(a.TaskQueue.GetName() + "\x00")
			}
		}
	}
	return b.String()
}
