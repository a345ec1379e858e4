package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/value"
	"go.starlark.net/starlark"
)

// callOp runs one op call: check the arguments against the schema, register
// the step, call the plugin, convert the result. In a dry-run a held call
// returns an unknown result.
func (r *run) callOp(thread *starlark.Thread, c *connection, op *schema.Op, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	call := c.vendor + "." + op.Name
	sig := op.Signature // rendered only for an error
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: arguments must be named\n  signature: %s", call, sig())
	}
	w := &wireCtx{r: r}
	argv, err := r.checkArgs(call, sig, op.Params, kwargs, w)
	if err != nil {
		return nil, err
	}
	argsJSON, err := json.Marshal(argv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}

	r.mu.Lock()
	r.stepCount[op.Name]++
	label := op.Name
	if n := r.stepCount[op.Name]; n > 1 {
		label = fmt.Sprintf("%s#%d", op.Name, n)
	}
	stepID := fmt.Sprintf("s%d", len(r.steps)+1)
	pos := thread.CallFrame(1).Pos.String()
	rec := StepRecord{ID: stepID, Call: call, Position: pos, Effect: op.Effect.String()}
	r.steps = append(r.steps, rec)
	idx := len(r.steps) - 1
	r.mu.Unlock()
	finish := func(status string, start time.Time, err error) {
		defer r.stepDone(idx) // after the unlock below
		r.mu.Lock()
		defer r.mu.Unlock()
		r.steps[idx].Status = status
		r.steps[idx].Duration = time.Since(start)
		if err != nil {
			r.steps[idx].Error = r.red.String(err.Error())
		}
	}
	start := time.Now()
	if r.plan != nil {
		r.plan.AddStep(stepID, call, pos, op.Effect.String())
	}

	// An unknown in a non-string parameter cannot even be rendered; hold the
	// whole call.
	if w.unknown && r.plan != nil && !onlyStringUnknowns(op, kwargs) {
		r.plan.MarkHeld(stepID, "not called: its arguments are known only after apply")
		finish("held", start, nil)
		return r.unknownResult(thread, label, op), nil
	}

	c.opened = true
	seq := idx + 1
	if r.journal != nil {
		v, handled, err := r.resumeStep(seq, c, op, call, stepID, argsJSON)
		if !handled && err == nil {
			err = r.saveCorrectedVars()
			handled = err != nil
		}
		if handled {
			status := "replayed"
			if err != nil {
				status = "error"
			}
			finish(status, start, err)
			return v, err
		}
		// A write's intent is on disk before any of its requests leave,
		// so a crash leaves a step resume knows to reconcile. A read is
		// recorded once, after it ran: sending it again is harmless.
		if op.Effect == schema.Write {
			if err := r.journal.StepIntent(r.ctx, r.journalStep(seq, call, pos, op, argsJSON)); err != nil {
				err = fmt.Errorf("%s: %w", call, r.journalErr(err))
				finish("error", start, err)
				return nil, err
			}
		}
	}
	// The transport's step id carries the run's prefix: runs sharing a
	// runtime (a fleet) must not collide; the plan keeps the short id.
	wireStep := r.prefix + stepID
	r.transport.Begin(&hostnet.Step{ID: wireStep, Call: call, Write: op.Effect == schema.Write, DryRun: r.opts.DryRun, Conn: c.net, Plan: r.plan, PlanStep: stepID})
	defer r.transport.End(wireStep)
	res, err := c.plugin.Call(r.ctx, &pluginmgr.CallRequest{
		Op: op.Name, ConnectionID: c.id, Connection: c.connJSON, Args: argsJSON, DryRun: r.opts.DryRun, StepID: wireStep,
	})
	r.failpoint("inflight", seq)
	v, err := r.opResult(c, op, call, sig, res, err)
	if r.journal != nil {
		var jerr error
		switch {
		case op.Effect == schema.Read:
			s := r.journalStep(seq, call, pos, op, argsJSON)
			s.Status = state.StepDone
			if err != nil {
				s.Status, s.Error = state.StepError, r.red.String(err.Error())
			} else {
				s.Result, s.ResultSecret = r.red.String(string(res.Result)), res.Result
			}
			jerr = r.journal.StepRecord(r.ctx, s)
		case err != nil:
			jerr = r.journal.StepFinished(r.ctx, r.id, seq, "", nil, state.StepError, r.red.String(err.Error()))
		default:
			jerr = r.journal.StepFinished(r.ctx, r.id, seq, r.red.String(string(res.Result)), res.Result, state.StepDone, "")
		}
		if jerr != nil && err == nil {
			// The vendor did it but the journal cannot say so: stop
			// before anything else happens.
			err = fmt.Errorf("%s: %w", call, r.journalErr(jerr))
		}
	}
	r.failpoint("after", seq)
	if err != nil {
		status := "error"
		if errors.Is(err, errHeldStep) {
			status, err = "held", nil
			r.plan.MarkHeld(stepID, "")
		}
		finish(status, start, err)
		if err == nil {
			return r.unknownResult(thread, label, op), nil
		}
		return nil, err
	}
	finish("ok", start, nil)
	return v, nil
}

func (r *run) journalStep(seq int, call, pos string, op *schema.Op, argsJSON []byte) state.Step {
	return state.Step{
		RunID: r.id, Seq: seq, Call: call, CallSite: pos, Effect: op.Effect.String(),
		Args: r.red.String(string(argsJSON)), ArgsSecret: argsJSON, ArgsHash: sha(argsJSON),
	}
}

// errHeldStep marks a dry-run call whose result is unknown.
var errHeldStep = errors.New("held")

// opResult turns the plugin's answer into the op's value or error.
func (r *run) opResult(c *connection, op *schema.Op, call string, sig func() string, res *pluginmgr.CallResult, err error) (starlark.Value, error) {
	if err != nil {
		if errors.Is(err, pluginmgr.ErrCrashed) {
			return nil, fmt.Errorf("%s: %w; the step failed and the plugin will be restarted for the next call", call, err)
		}
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	if res.Held {
		if r.plan == nil {
			return nil, fmt.Errorf("%s: plugin reported a held request outside a dry-run", call)
		}
		return nil, errHeldStep
	}
	if res.Err != nil {
		// The *pluginmgr.OpError stays reachable (errors.As) so callers
		// see its code, retryable flag and retry-after.
		if res.Err.Code == "invalid_argument" && res.Err.Param != "" {
			return nil, &causeError{fmt.Sprintf("%s: for parameter %s: %s\n  signature: %s", call, res.Err.Param, res.Err.Message, sig()), res.Err}
		}
		return nil, fmt.Errorf("%s: %w", call, res.Err)
	}
	v, err := r.fromWire(call, res.Result, op.Results)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	return v, nil
}

func onlyStringUnknowns(op *schema.Op, kwargs []starlark.Tuple) bool {
	for _, kv := range kwargs {
		if _, ok := kv[1].(*value.Unknown); !ok {
			continue
		}
		f := schema.FieldNamed(op.Params, string(kv[0].(starlark.String)))
		if f == nil || (f.Type != schema.String && f.Type != schema.Secret) {
			return false
		}
	}
	return true
}

// unknownResult is the result of a held op: every declared field unknown.
func (r *run) unknownResult(thread *starlark.Thread, label string, op *schema.Op) *value.Unknown {
	u := value.NewUnknown(thread, label, r.plan.Placeholder(label))
	for _, f := range op.Results {
		l := label + "." + f.Name
		u.WithField(f.Name, value.NewUnknown(thread, l, r.plan.Placeholder(l)))
	}
	return u
}
