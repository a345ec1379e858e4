package distributed

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/store"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// flowWorkflow replays the Starlark flow: the engine runs it from the
// bundle, with workflow time, no environment, secret references, and every
// op and store call an activity.
type flowWorkflow struct {
	// idKey keys the hash of an op's arguments in its activity id (see
	// opActivityID); every worker of a namespace derives the same one.
	idKey []byte
}

// run is the workflow function.
func (f *flowWorkflow) run(ctx workflow.Context, in FlowInput) (*FlowResult, error) {
	if err := in.check(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "bundle", nil)
	}
	info := workflow.GetInfo(ctx)
	runID := "wf-" + info.WorkflowExecution.ID + "-" + info.WorkflowExecution.RunID
	w := &wfRun{ctx: ctx, f: f, runID: runID, site: in.Site, schemas: map[string]*schema.Schema{}}
	target := in.target()
	if !in.DryRun {
		if err := w.exec(activityJournal, journalInput{Op: "begin", RunID: runID, Flow: in.Flow, Hash: in.Hash, Vars: in.Vars,
			Target: target, Info: in.TargetInfo, Started: workflow.Now(ctx)}, nil); err != nil {
			return nil, err
		}
	}
	res, runErr := engine.Run(context.Background(), in.Flow, engine.Options{
		Vars:      in.Vars,
		Target:    in.Target,
		TargetTLS: in.TLS,
		DryRun:    in.DryRun,
		LibDir:    in.LibDir,
		Sources:   in.sourceBytes(),
		Ops:       w,
		SecretRef: secretRefWith(target, in.Credentials),
		Store:     &wfStore{w: w},
		Getenv:    func(string) (string, bool) { return "", false },
		Now:       func() time.Time { return workflow.Now(ctx) },
		// The wall clock must not end a replayed flow: Temporal's
		// timeouts bound the workflow.
		Timeout: 365 * 24 * time.Hour,
	})
	status, msg := w.outcome(runErr)
	if !in.DryRun {
		if err := w.exec(activityJournal, journalInput{Op: "finish", RunID: runID, Status: status, Error: msg}, nil); err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		return nil, w.flowError(runErr)
	}
	return flowResult(runID, res), nil
}

// wfRun is one workflow execution's executor (engine.OpExecutor).
type wfRun struct {
	ctx     workflow.Context
	f       *flowWorkflow
	runID   string
	site    string // of the target: picks the vendor queue (opsOptions)
	schemas map[string]*schema.Schema
	// parked is the write that failed past its retry limit, if any.
	parked *parkedWrite
}

var _ engine.OpExecutor = (*wfRun)(nil)

func (w *wfRun) options(id string) workflow.Context {
	attempts := int32(5)
	return workflow.WithActivityOptions(w.ctx, workflow.ActivityOptions{
		ActivityID:          id,
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: attempts,
		},
	})
}

func (w *wfRun) exec(name string, in, out any) error {
	return workflow.ExecuteActivity(shortOptions(w.options("")), name, in).Get(w.ctx, out)
}

// Schema is the vendor's Describe, once per workflow execution.
func (w *wfRun) Schema(_ context.Context, vendor string) (*schema.Schema, error) {
	if s, ok := w.schemas[vendor]; ok {
		return s, nil
	}
	var s schema.Schema
	if err := workflow.ExecuteActivity(shortOptions(w.opsOptions("", vendor)), activityDescribe, vendor).Get(w.ctx, &s); err != nil {
		return nil, w.noWorker(err, vendor)
	}
	w.schemas[vendor] = &s
	return &s, nil
}

// Plugin returns the calls of one connection as activities.
func (w *wfRun) Plugin(vendor string, conn *hostnet.Conn) pluginmgr.Plugin {
	return &wfPlugin{w: w, vendor: vendor, conn: specOf(conn)}
}

type wfPlugin struct {
	w      *wfRun
	vendor string
	conn   connSpec
	// plan is the run's dry-run plan (UsePlan); nil when applying.
	plan *plan.Plan
}

func (p *wfPlugin) Schema() *schema.Schema { return p.w.schemas[p.vendor] }

// opActivityID names an op activity by its step, its op and an HMAC of its
// connection and arguments. Temporal compares only an activity's id and
// type on replay: with the arguments in the id, a replay that took another
// branch or sent other arguments fails with a non-determinism error
// instead of finishing silently with another step's result. The hash is
// keyed so the id reveals nothing about the arguments.
func (w *wfRun) opActivityID(step, op string, conn connSpec, connJSON, args []byte) string {
	m := hmac.New(sha256.New, w.f.idKey)
	fmt.Fprintf(m, "%s\x00%s\x00%d:%s\x00%d:%s\x00", conn.URL, conn.ID, len(connJSON), connJSON, len(args), args)
	return fmt.Sprintf("%s/%s.%s/%s", step, conn.Vendor, op, hex.EncodeToString(m.Sum(nil))[:32])
}

// stepSeq is the step number in an engine step id ("s3" -> 3).
func stepSeq(stepID string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(stepID, "s"))
	if err != nil || !strings.HasPrefix(stepID, "s") {
		return 0, fmt.Errorf("unexpected step id %q", stepID)
	}
	return n, nil
}

func (p *wfPlugin) Call(_ context.Context, req *pluginmgr.CallRequest) (*pluginmgr.CallResult, error) {
	if req.Reconcile {
		return nil, errors.New("reconciliation happens inside the op activity")
	}
	seq, err := stepSeq(req.StepID)
	if err != nil {
		return nil, err
	}
	in := opInput{RunID: p.w.runID, Seq: seq, Op: req.Op, Conn: p.conn, ConnectionID: req.ConnectionID,
		Connection: req.Connection, Args: req.Args, StepID: p.w.runID + "." + req.StepID, DryRun: req.DryRun}
	id := p.w.opActivityID(req.StepID, req.Op, p.conn, req.Connection, req.Args)
	var out opOutput
	if err := workflow.ExecuteActivity(opOptions(p.w.opsOptions(id, p.vendor)), activityOp, in).Get(p.w.ctx, &out); err != nil {
		if e, ok := readGaveUp(err); ok {
			return &pluginmgr.CallResult{Err: e}, nil
		}
		return nil, p.failed(req, p.w.noWorker(err, p.vendor))
	}
	return p.result(req, &out), nil
}

func (p *wfPlugin) CloseConnection(_ context.Context, req *pluginmgr.CallRequest) error {
	in := opInput{RunID: p.w.runID, Conn: p.conn, ConnectionID: req.ConnectionID, Connection: req.Connection,
		StepID: p.w.runID + "." + req.StepID}
	err := workflow.ExecuteActivity(shortOptions(p.w.opsOptions("", p.vendor)), activityClose, in).Get(p.w.ctx, nil)
	return p.w.noWorker(err, p.vendor)
}

// wfStore is the token store as activities on the shared state.
type wfStore struct{ w *wfRun }

var _ store.Store = (*wfStore)(nil)

func (s *wfStore) call(in storeInput) ([]store.Token, error) {
	var out storeOutput
	if err := s.w.exec(activityStore, in, &out); err != nil {
		return nil, err
	}
	if out.NotFound {
		return nil, store.ErrNotFound
	}
	return out.Tokens, nil
}

func (s *wfStore) Put(_ context.Context, t store.Token) error {
	// The token names the journal's run (what `tokenflow runs` shows), not
	// the engine's own id of this replay.
	t.RunID = s.w.runID
	_, err := s.call(storeInput{Op: "put", Token: &t})
	return err
}

func (s *wfStore) Get(_ context.Context, target, name string) (store.Token, error) {
	ts, err := s.call(storeInput{Op: "get", Target: target, Name: name})
	if err != nil {
		return store.Token{}, err
	}
	if len(ts) != 1 {
		return store.Token{}, store.ErrNotFound
	}
	return ts[0], nil
}

func (s *wfStore) List(_ context.Context) ([]store.Token, error) {
	return s.call(storeInput{Op: "list"})
}

func (s *wfStore) Versions(_ context.Context, target, name string) ([]store.Token, error) {
	ts, err := s.call(storeInput{Op: "versions", Target: target, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return ts, err
}

func (s *wfStore) Promote(_ context.Context, target, name string) error {
	_, err := s.call(storeInput{Op: "promote", Target: target, Name: name})
	return err
}

func (s *wfStore) SetState(_ context.Context, id, st string) error {
	_, err := s.call(storeInput{Op: "set_state", ID: id, State: st})
	return err
}

func (s *wfStore) Delete(_ context.Context, target, name string) error {
	_, err := s.call(storeInput{Op: "delete", Target: target, Name: name})
	return err
}
