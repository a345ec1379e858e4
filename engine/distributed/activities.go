package distributed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"go.temporal.io/sdk/temporal"
)

// activities run on a worker: its own plugins (Runtime) and the shared
// state.
type activities struct {
	rt     *engine.Runtime
	state  state.Backend
	getenv func(string) (string, bool)
	logger hclog.Logger
}

func (a *activities) resolver() *resolver {
	return &resolver{state: a.state, getenv: a.getenv}
}

// describe is the vendor plugin's schema, as the workflow checks calls
// against it.
func (a *activities) describe(ctx context.Context, vendor string) (*schema.Schema, error) {
	p, err := a.rt.Plugins().Get(ctx, vendor)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("plugin %s: %v", vendor, err), "plugin", nil)
	}
	return p.Schema(), nil
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// op executes one op call exactly once across attempts and workers: a step
// the shared journal holds as done returns its recorded result; a write
// whose intent is recorded but whose outcome is not is reconciled through
// the plugin first (as `run --resume` does locally).
func (a *activities) op(ctx context.Context, in opInput) (*opOutput, error) {
	defer heartbeat(ctx)()
	p, err := a.rt.Plugins().Get(ctx, in.Conn.Vendor)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", in.Conn.Vendor, err)
	}
	op := p.Schema().Op(in.Op)
	if op == nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("plugin %s on this worker has no op %s: the workers run different plugin versions", in.Conn.Vendor, in.Op), "plugin", nil)
	}
	call := in.Conn.Vendor + "." + in.Op
	conn, err := in.Conn.hostnet()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "connection", nil)
	}
	res := a.resolver()
	req := &pluginmgr.CallRequest{Op: in.Op, ConnectionID: in.pluginConnID(), StepID: in.StepID}
	if req.Connection, err = res.resolveJSON(ctx, in.Connection); err == nil {
		req.Args, err = res.resolveJSON(ctx, in.Args)
	}
	if err == nil && in.Conn.ProxyPassword != "" && conn.Proxy != nil {
		conn.Proxy.Password, err = res.resolve(ctx, in.Conn.ProxyPassword)
	}
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", call, err), "secret", nil)
	}
	red := a.rt.Redactor()
	for _, v := range res.seen {
		red.Add(v)
	}
	if in.DryRun {
		return a.dryRun(ctx, in, op, conn, req)
	}
	argsHash := sha(in.Args)

	done, err := a.recorded(ctx, in, op, argsHash)
	if err != nil || done != nil {
		return done, err
	}
	if op.Effect == schema.Write {
		intent, err := a.stepState(ctx, in.RunID, in.Seq)
		if err != nil {
			return nil, err
		}
		if intent != nil && intent.Status == state.StepIntent {
			out, sent, err := a.reconcile(ctx, in, op, conn, req)
			if err != nil || sent {
				return out, err
			}
		}
		s := state.Step{RunID: in.RunID, Seq: in.Seq, Call: call, CallSite: in.CallSite, Effect: op.Effect.String(),
			Args: red.String(string(in.Args)), ArgsSecret: in.Args, ArgsHash: argsHash}
		if intent == nil {
			if err := a.state.StepIntent(ctx, s); err != nil {
				return nil, fmt.Errorf("journal: %w (nothing was sent)", err)
			}
		}
	}
	cr, err := a.rt.Call(ctx, in.Conn.Vendor, conn, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	return a.finish(ctx, in, op, argsHash, cr)
}

// recorded returns the journaled outcome of a step that finished in an
// earlier attempt, or nil.
func (a *activities) recorded(ctx context.Context, in opInput, op *schema.Op, argsHash string) (*opOutput, error) {
	s, err := a.stepState(ctx, in.RunID, in.Seq)
	if err != nil || s == nil || s.Status != state.StepDone {
		return nil, err
	}
	if s.ArgsHash != argsHash || s.Call != in.Conn.Vendor+"."+in.Op {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %d of run %s is journaled as %s with other arguments: the workflow does not match its journal", in.Seq, in.RunID, s.Call), "journal", nil)
	}
	return &opOutput{Result: maskResult(in, op, s.ResultSecret)}, nil
}

func (a *activities) stepState(ctx context.Context, runID string, seq int) (*state.Step, error) {
	steps, err := a.state.Steps(ctx, runID, true)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	for i := range steps {
		if steps[i].Seq == seq {
			return &steps[i], nil
		}
	}
	return nil, nil
}

// reconcile asks the plugin whether a write sent by an attempt that died
// took effect. sent false: it did not, send it now.
func (a *activities) reconcile(ctx context.Context, in opInput, op *schema.Op, conn *hostnet.Conn, req *pluginmgr.CallRequest) (*opOutput, bool, error) {
	call := in.Conn.Vendor + "." + in.Op
	if !op.Reconcilable {
		return nil, true, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: step %d was sent by an attempt that died and its outcome is unknown; the %s plugin cannot check it: look at the vendor, then start a new run", call, in.Seq, in.Conn.Vendor), "unknown-outcome", nil)
	}
	rq := *req
	rq.Reconcile = true
	cr, err := a.rt.Call(ctx, in.Conn.Vendor, conn, &rq)
	if err != nil {
		return nil, true, fmt.Errorf("%s: reconcile: %w", call, err)
	}
	if cr.Err != nil {
		return nil, true, fmt.Errorf("%s: reconcile: %s", call, cr.Err.Error())
	}
	if cr.NotApplied {
		a.logger.Info("the interrupted write did not take effect; sending it again", "step", in.Seq, "call", call)
		return nil, false, nil
	}
	a.logger.Info("the interrupted write had taken effect", "step", in.Seq, "call", call)
	out, err := a.finish(ctx, in, op, sha(in.Args), cr)
	return out, true, err
}

// finish journals a call's outcome (the sealed result) and returns it with
// secret fields as references.
func (a *activities) finish(ctx context.Context, in opInput, op *schema.Op, argsHash string, cr *pluginmgr.CallResult) (*opOutput, error) {
	red := a.rt.Redactor()
	call := in.Conn.Vendor + "." + in.Op
	if cr.Err != nil && cr.Err.Retryable {
		return nil, retryable(call, op.Effect == schema.Write, red, cr.Err)
	}
	if cr.Err != nil {
		msg := red.String(cr.Err.Error())
		var jerr error
		if op.Effect == schema.Write {
			jerr = a.state.StepFinished(ctx, in.RunID, in.Seq, "", nil, state.StepError, msg)
		}
		e := *cr.Err
		e.Message = red.String(e.Message)
		return &opOutput{Err: &e}, jerr
	}
	registerSecretResults(red, op, cr.Result)
	var err error
	if op.Effect == schema.Write {
		err = a.state.StepFinished(ctx, in.RunID, in.Seq, red.String(string(cr.Result)), cr.Result, state.StepDone, "")
	} else {
		err = a.state.StepRecord(ctx, state.Step{RunID: in.RunID, Seq: in.Seq, Call: call, CallSite: in.CallSite, Effect: op.Effect.String(),
			Args: red.String(string(in.Args)), ArgsSecret: in.Args, ArgsHash: argsHash, Status: state.StepDone,
			Result: red.String(string(cr.Result)), ResultSecret: cr.Result})
	}
	if err != nil {
		// The vendor did it but the journal cannot say so: fail the
		// attempt; the next one reconciles from the recorded intent.
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &opOutput{Result: maskResult(in, op, cr.Result), NotApplied: cr.NotApplied}, nil
}

func registerSecretResults(red *redact.Redactor, op *schema.Op, result []byte) {
	var obj map[string]any
	if json.Unmarshal(result, &obj) != nil {
		return
	}
	for _, f := range op.Results {
		if s, ok := obj[f.Name].(string); ok && (f.Secret || f.Type == schema.Secret) && s != "" {
			red.Add(s)
		}
	}
}

// maskResult replaces the op's secret result fields by references to the
// step's sealed result.
func maskResult(in opInput, op *schema.Op, result []byte) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(result, &obj) != nil {
		return nil
	}
	for _, f := range op.Results {
		if _, ok := obj[f.Name]; ok && (f.Secret || f.Type == schema.Secret) {
			ref, _ := json.Marshal(makeRef("step", refKey{Run: in.RunID, Seq: in.Seq, Field: f.Name}))
			obj[f.Name] = ref
		}
	}
	b, _ := json.Marshal(obj)
	return b
}

func (c connSpec) hostnet() (*hostnet.Conn, error) {
	conn, err := hostnet.NewConn(c.ID, c.Vendor, c.URL, c.CAFile, c.Insecure, c.Extra...)
	if err != nil {
		return nil, err
	}
	conn.Pin, conn.Timeout, conn.TotalTimeout = c.Pin, c.Timeout, c.TotalTimeout
	if c.ProxyURL != "" || c.ProxyDirect {
		conn.Proxy = &hostnet.Proxy{Direct: c.ProxyDirect, User: c.ProxyUser}
		if c.ProxyURL != "" {
			if conn.Proxy.URL, err = url.Parse(c.ProxyURL); err != nil {
				return nil, fmt.Errorf("proxy url: %w", err)
			}
		}
	}
	return conn, nil
}

func specOf(c *hostnet.Conn) connSpec {
	s := connSpec{ID: c.ID, Vendor: c.Vendor, URL: c.BaseURL.String(), CAFile: c.CAFile, Insecure: c.Insecure,
		Pin: c.Pin, Timeout: c.Timeout, TotalTimeout: c.TotalTimeout}
	for _, e := range c.Extra {
		s.Extra = append(s.Extra, e.String())
	}
	if p := c.Proxy; p != nil {
		s.ProxyDirect, s.ProxyUser, s.ProxyPassword = p.Direct, p.User, p.Password
		if p.URL != nil {
			s.ProxyURL = p.URL.String()
		}
	}
	return s
}

// closeConnection ends the plugin's session for a connection.
func (a *activities) closeConnection(ctx context.Context, in opInput) error {
	conn, err := in.Conn.hostnet()
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "connection", nil)
	}
	res := a.resolver()
	conn2, err := res.resolveJSON(ctx, in.Connection)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "secret", nil)
	}
	return a.rt.CloseConnection(ctx, in.Conn.Vendor, conn, &pluginmgr.CallRequest{ConnectionID: in.pluginConnID(), Connection: conn2, StepID: in.StepID})
}

// tokenStore runs one token store call on the shared state; values that
// leave it are references.
func (a *activities) tokenStore(ctx context.Context, in storeInput) (*storeOutput, error) {
	out := &storeOutput{}
	var err error
	switch in.Op {
	case "put":
		t := *in.Token
		if t.Value, err = a.resolver().resolve(ctx, t.Value); err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "secret", nil)
		}
		err = a.state.Put(ctx, t)
	case "get":
		var t store.Token
		t, err = a.state.Get(ctx, in.Target, in.Name)
		out.Tokens = []store.Token{t}
	case "list":
		out.Tokens, err = a.state.List(ctx)
	case "versions":
		out.Tokens, err = a.state.Versions(ctx, in.Target, in.Name)
	case "promote":
		err = a.state.Promote(ctx, in.Target, in.Name)
	case "set_state":
		err = a.state.SetState(ctx, in.ID, in.State)
	case "delete":
		err = a.state.Delete(ctx, in.Target, in.Name)
	default:
		return nil, temporal.NewNonRetryableApplicationError("unknown store op "+in.Op, "store", nil)
	}
	if errors.Is(err, store.ErrNotFound) {
		return &storeOutput{NotFound: true}, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range out.Tokens {
		t := &out.Tokens[i]
		t.Value = makeRef("ver", refKey{Target: t.Target, Name: t.Name, ID: t.ID})
	}
	return out, nil
}

// journal opens and closes the run's entry in the shared journal, so
// `tokenflow runs` lists distributed runs beside local ones.
func (a *activities) journal(ctx context.Context, in journalInput) error {
	switch in.Op {
	case "begin":
		if _, err := a.state.GetRun(ctx, in.RunID); err == nil {
			return nil // an earlier attempt began it
		}
		return a.state.BeginRun(ctx, state.Run{ID: in.RunID, FlowPath: in.Flow, Sources: map[string]string{in.Flow: in.Hash},
			Plugins: map[string]string{}, Vars: in.Vars, StartedAt: in.Started, Target: in.Target, TargetInfo: in.Info})
	case "finish":
		return a.state.FinishRun(ctx, in.RunID, in.Status, in.Error)
	}
	return temporal.NewNonRetryableApplicationError("unknown journal op "+in.Op, "journal", nil)
}
