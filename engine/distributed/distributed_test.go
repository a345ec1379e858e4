package distributed_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/proto"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/pgstate"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/pgtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	code := pgtest.Main(m, &pg)
	flowtest.Cleanup()
	os.Exit(code)
}

// canaryPassword is the VCF password: it must appear in no workflow
// history and no PostgreSQL row.
const canaryPassword = "Canary-VCF-pw-7f3a9c!"

type cluster struct {
	ts    *temporaltest.TestServer
	c     client.Client
	db    *pgstate.DB
	dbURL string
	keys  *state.Keyring
	// keyFile holds keys, for a CLI reading the same state.
	keyFile string
	idKey   []byte
	queue   string
	rt      *engine.Runtime
	getenv  func(string) (string, bool)
	sim     *sim.Sim
	srv     *simkit.Server
	caFile  string
}

func newCluster(t *testing.T) *cluster { return newClusterWith(t, false) }

// newClusterWith: codec true has the client and the worker encrypt
// payloads (DataConverterFor), as the CLI does.
func newClusterWith(t *testing.T, codec bool) *cluster {
	t.Helper()
	ctx := context.Background()
	cl := &cluster{queue: "tokenflow-test"}
	cl.ts = temporaltest.NewServer(temporaltest.WithT(t))
	var err error
	cl.keyFile = filepath.Join(t.TempDir(), "key.txt")
	if cl.keys, err = state.LoadKeyring(cl.keyFile, true); err != nil {
		t.Fatal(err)
	}
	cl.c = cl.ts.GetDefaultClient()
	if codec {
		dc, err := distributed.DataConverterFor(cl.keys)
		if err != nil {
			t.Fatal(err)
		}
		cl.c = cl.ts.NewClientWithOptions(client.Options{DataConverter: dc, FailureConverter: distributed.FailureConverterFor(dc)})
	}
	cl.dbURL = pg.NewDatabase(t)
	if cl.db, err = pgstate.Open(ctx, pgstate.Options{URL: cl.dbURL, Keys: cl.keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.db.Close() })
	cl.idKey = distributed.IDKeyFor(cl.keys, cl.ts.GetDefaultNamespace())

	cl.sim = sim.New(sim.Config{Clock: simkit.NewClock(time.Now().UTC()), Users: map[string]string{"admin": canaryPassword}})
	cl.srv, cl.caFile = flowtest.ServeTLS(t, cl.sim.Handler())
	cl.sim.SetAdvertisedHost(strings.TrimPrefix(cl.srv.URL, "https://"))

	rt, err := engine.NewRuntime(engine.RuntimeOptions{PluginDirs: []string{flowtest.Plugins(t, "vcf")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	cl.rt = rt
	cl.getenv = func(k string) (string, bool) {
		if k == "VCF_PASSWORD" {
			return canaryPassword, true
		}
		return "", false
	}
	w, err := distributed.NewWorker(cl.c, distributed.WorkerConfig{
		TaskQueue: cl.queue, Runtime: rt, State: cl.db, IDKey: cl.idKey, Getenv: cl.getenv,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return cl
}

func (cl *cluster) vars() map[string]string {
	return map[string]string{"url": cl.srv.URL, "ca_file": cl.caFile, "realm": "flt-idb02",
		"client_id": "ci-bot", "token_name": "ci-bot-main"}
}

// submitOnboard submits flows/vcf/onboard.star with the cluster's vars to
// its task queue.
func (cl *cluster) submitOnboard(ctx context.Context, t *testing.T) client.WorkflowRun {
	t.Helper()
	in, err := distributed.Bundle(flowtest.Flow("vcf", "onboard.star"), "", cl.vars(), "")
	if err != nil {
		t.Fatal(err)
	}
	run, err := distributed.Submit(ctx, cl.c, in, distributed.SubmitOptions{TaskQueue: cl.queue})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func (cl *cluster) history(t *testing.T, id, runID string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := cl.c.GetWorkflowHistory(context.Background(), id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// TestOnboardAsWorkflow submits flows/vcf/onboard.star to an embedded
// Temporal with a worker in-process and the state in PostgreSQL.
func TestOnboardAsWorkflow(t *testing.T) {
	cl := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, err := distributed.Bundle(flowtest.Flow("vcf", "onboard.star"), "", cl.vars(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Sources[flowtest.Flow("lib", "converge.star")]; !ok {
		t.Fatalf("bundle lacks flows/lib/converge.star: %v", keys(in.Sources))
	}
	run, err := distributed.Submit(ctx, cl.c, in, distributed.SubmitOptions{TaskQueue: cl.queue})
	if err != nil {
		t.Fatal(err)
	}
	res, err := distributed.Wait(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, o := range res.Outputs {
		out[o.Name] = o.Value
	}
	if out["client_created"] != true || out["token_action"] != "issued" {
		t.Fatalf("outputs %v, want a created client and an issued token", out)
	}

	// The simulator saw each write once.
	rec := cl.sim.Recorder()
	realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	base := "/suite-api/api/fleet-management/iam/ssorealms/" + realm
	for _, w := range []struct{ method, path string }{
		{http.MethodPost, base + "/api-clients"},
		{http.MethodPut, base + "/principals/*/roles"},
		{http.MethodPost, base + "/api-tokens"},
	} {
		if n := countExact(rec, w.method, w.path); n != 1 {
			t.Errorf("%s %s sent %d times, want once", w.method, w.path, n)
		}
	}
	if n := len(cl.sim.Tokens(realm)); n != 1 {
		t.Errorf("the vendor holds %d tokens, want 1", n)
	}

	// The token is in the shared store, and works at the vendor.
	tok, err := cl.db.Get(ctx, cl.srv.URL, "vcf/ci-bot/ci-bot-main")
	if err != nil {
		t.Fatalf("token not in the shared store: %v", err)
	}
	if !cl.sim.TokenSecretValid(tok.Value) {
		t.Fatal("the stored token is not one the vendor accepts")
	}
	if byRun, err := cl.db.TokensOfRun(ctx, res.RunID); err != nil || len(byRun) != 1 {
		t.Errorf("the journal's run %s stored %d tokens (%v), want 1", res.RunID, len(byRun), err)
	}
	if r, err := cl.db.GetRun(ctx, res.RunID); err != nil || r.Status != "ok" {
		t.Errorf("the journal has run %s as %+v (%v), want it ok", res.RunID, r.Status, err)
	}

	// No secret in the history, nor in PostgreSQL in clear.
	hist := cl.history(t, run.GetID(), run.GetRunID())
	raw, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Events) < 10 || !bytes.Contains(raw, []byte("tfref:env:VCF_PASSWORD")) {
		t.Fatalf("history of %d events does not carry the password reference: it is not the history of this run", len(hist.Events))
	}
	for name, secret := range map[string]string{"password": canaryPassword, "token": tok.Value} {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(`"` + secret + `"`))} {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the %s appears in the workflow history in clear (or plainly base64-encoded)", name)
			}
		}
		rows, err := pgtest.RowsContaining(ctx, cl.dbURL, secret)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > 0 {
			t.Errorf("the %s appears in clear in PostgreSQL rows: %v", name, rows)
		}
	}

	checkExactlyOnce(t, cl, hist, countExact(rec, http.MethodPost, base+"/api-clients"))

	// A second run converges: it reads the stored token's versions through
	// the store activity and sends no write.
	writes := rec.Writes()
	run2, err := distributed.Submit(ctx, cl.c, in, distributed.SubmitOptions{TaskQueue: cl.queue})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := distributed.Wait(ctx, run2)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res2.Outputs {
		if o.Name == "token_action" && o.Value != "kept" {
			t.Errorf("second run: token_action %v, want kept", o.Value)
		}
	}
	if w := rec.Writes(); w != writes {
		t.Errorf("the converging second run sent %d writes, want none", w-writes)
	}

	// The unchanged flow replays against its history; an edited one fails
	// with a non-determinism error.
	if err := replay(cl.idKey, hist); err != nil {
		t.Fatalf("replaying the unchanged history: %v", err)
	}
	edited := editFlow(t, hist, func(src string) string {
		return strings.Replace(src, `client_name = var("client_name", default = "Iam Client")`, `client_name = "Edited Client"`, 1)
	})
	err = replay(cl.idKey, edited)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "nondetermin") {
		t.Fatalf("replaying an edited flow against the old history: got %v, want a non-determinism error", err)
	}
	t.Logf("edited flow on replay: %v", err)
}

// checkExactlyOnce runs the create_api_client activity of the history
// again, as a retried attempt would: once as the same step (the journal
// answers), once as a step whose intent was journaled by an attempt that
// died mid-write (the plugin reconciles). The vendor gets no second create.
func checkExactlyOnce(t *testing.T, cl *cluster, h *historypb.History, creates int) {
	t.Helper()
	ctx := context.Background()
	dc := converter.GetDefaultDataConverter()
	var in distributed.OpInput
	var first json.RawMessage
	for _, ev := range h.Events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && strings.Contains(a.ActivityId, "/vcf.create_api_client/") {
			if err := dc.FromPayloads(a.Input, &in); err != nil {
				t.Fatal(err)
			}
			for _, done := range h.Events {
				if c := done.GetActivityTaskCompletedEventAttributes(); c != nil && c.ScheduledEventId == ev.EventId {
					var out struct{ Result json.RawMessage }
					if err := dc.FromPayloads(c.Result, &out); err != nil {
						t.Fatal(err)
					}
					first = out.Result
				}
			}
		}
	}
	if in.Op != "create_api_client" || first == nil {
		t.Fatalf("no completed create_api_client activity in the history (op %q)", in.Op)
	}
	again, err := distributed.RunOpActivity(ctx, cl.rt, cl.db, cl.getenv, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, first) {
		t.Errorf("a retried attempt returned %s, want the recorded %s", again, first)
	}

	died := in
	died.RunID = "wf-died-mid-write"
	if err := cl.db.BeginRun(ctx, state.Run{ID: died.RunID, FlowPath: "onboard.star", Sources: map[string]string{}, Plugins: map[string]string{}, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(died.Args)
	if err := cl.db.StepIntent(ctx, state.Step{RunID: died.RunID, Seq: died.Seq, Call: "vcf.create_api_client", Effect: "write",
		Args: string(died.Args), ArgsSecret: died.Args, ArgsHash: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
	reconciled, err := distributed.RunOpActivity(ctx, cl.rt, cl.db, cl.getenv, died)
	if err != nil {
		t.Fatalf("reconciling a write whose attempt died: %v", err)
	}
	var a, b map[string]any
	json.Unmarshal(first, &a)
	json.Unmarshal(reconciled, &b)
	if a["client_uuid"] == nil || a["client_uuid"] != b["client_uuid"] {
		t.Errorf("reconciled result %s, want the client the first attempt created (%s)", reconciled, first)
	}
	realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	if n := countExact(cl.sim.Recorder(), http.MethodPost, "/suite-api/api/fleet-management/iam/ssorealms/"+realm+"/api-clients"); n != creates {
		t.Errorf("the vendor got %d creates after the retries, want still %d", n, creates)
	}
}

func replay(idKey []byte, h *historypb.History) error {
	r := worker.NewWorkflowReplayer()
	distributed.RegisterWorkflow(r, idKey)
	// The replayer logs the non-determinism panic with its stack; the test
	// asserts the error instead.
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	return r.ReplayWorkflowHistory(quiet, h)
}

// editFlow returns a copy of h whose workflow input carries the main flow
// file changed by edit (and a matching hash): what a worker would replay if
// the flow had been edited under a running workflow.
func editFlow(t *testing.T, h *historypb.History, edit func(string) string) *historypb.History {
	t.Helper()
	h = proto.Clone(h).(*historypb.History)
	attrs := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		t.Fatal("first history event is not the workflow start")
	}
	dc := converter.GetDefaultDataConverter()
	var in distributed.FlowInput
	if err := dc.FromPayloads(attrs.Input, &in); err != nil {
		t.Fatal(err)
	}
	before := in.Sources[in.Flow]
	in.Sources[in.Flow] = edit(before)
	if in.Sources[in.Flow] == before {
		t.Fatal("the edit changed nothing in the flow")
	}
	in = distributed.Rehash(in)
	p, err := dc.ToPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	attrs.Input = p
	return h
}

// countExact counts the requests of method to path ("*" matches one path
// segment); Recorder.Count matches prefixes, and a query endpoint shares
// the create endpoint's prefix.
func countExact(rec *simkit.Recorder, method, path string) int {
	n := 0
	for _, e := range rec.Entries() {
		if e.Method == method && segmentsMatch(path, e.Path) {
			n++
		}
	}
	return n
}

func segmentsMatch(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
