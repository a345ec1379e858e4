package distributed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/schema"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// StatusParked is the journal status of a run stopped by a write (a
// rotation, a revocation) that failed past its retry limit: it needs a
// person, and nothing retries it by itself. The workflow fails with an
// application error of this type.
const StatusParked = "parked"

// parkedWrite is the write that parked a run.
type parkedWrite struct {
	Step, Call, Err string
}

func (p *parkedWrite) message() string {
	return fmt.Sprintf("needs a person: %s (step %s) failed past its retry limit: %s; check the target and what the step sent (tokenflow runs show RUN), then submit the flow again for this target",
		p.Call, p.Step, p.Err)
}

// outcome is the journal status of the run and its message.
func (w *wfRun) outcome(runErr error) (string, string) {
	switch {
	case runErr == nil:
		return "ok", ""
	case w.parked != nil:
		return StatusParked, w.parked.message()
	}
	return "error", runErr.Error()
}

// flowError is the workflow's error: never retried (Temporal would replay
// the same flow into the same failure); a parked run says so by its type.
func (w *wfRun) flowError(runErr error) error {
	if w.parked != nil {
		return temporal.NewNonRetryableApplicationError(w.parked.message(), StatusParked, nil)
	}
	return temporal.NewNonRetryableApplicationError(runErr.Error(), "flow", nil)
}

func flowResult(runID string, res *engine.Result) *FlowResult {
	out := &FlowResult{RunID: runID, Outputs: res.Outputs, Steps: res.Steps}
	if res.Plan != nil {
		// Held requests were masked on the worker; the workflow holds only
		// references, so an empty redactor renders the placeholders.
		out.Plan = res.Plan.Steps(redact.New())
	}
	return out
}

// secretRefWith is secretRef with an inventory target's credentials:
// secret("env:NAME") for a credential NAME is that credential's reference,
// as a local fleet answers it from the target's credentials first.
func secretRefWith(target string, creds map[string]string) func(string) (string, error) {
	base := secretRef(target)
	return func(ref string) (string, error) {
		if name, ok := strings.CutPrefix(ref, "env:"); ok {
			if c, ok := creds[name]; ok {
				return base(c)
			}
		}
		return base(ref)
	}
}

// UsePlan receives the dry-run's plan (engine.PlanRecorder).
func (p *wfPlugin) UsePlan(pl *plan.Plan) { p.plan = pl }

var _ engine.PlanRecorder = (*wfPlugin)(nil)

// failed notes a write whose activity failed for good (its retries spent,
// or its outcome unknown): the run is then parked.
func (p *wfPlugin) failed(req *pluginmgr.CallRequest, err error) error {
	if req.DryRun {
		return err
	}
	if op := p.Schema().Op(req.Op); op != nil && op.Effect == schema.Write && p.w.parked == nil {
		msg := err.Error()
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) {
			msg = ae.Error()
		}
		p.w.parked = &parkedWrite{Step: req.StepID, Call: p.vendor + "." + req.Op, Err: msg}
	}
	return err
}

// result turns an op activity's output into the call's result; a dry-run
// call's requests join the run's plan.
func (p *wfPlugin) result(req *pluginmgr.CallRequest, out *opOutput) *pluginmgr.CallResult {
	if p.plan != nil && len(out.Requests) > 0 {
		p.plan.AddRequests(req.StepID, out.Requests)
	}
	return &pluginmgr.CallResult{Result: out.Result, NotApplied: out.NotApplied, Held: out.Held, Err: out.Err}
}

// dryRun runs a call of a dry-run on this worker: reads are sent, writes
// held by the transport into a plan of this one step, whose requests go
// back to the workflow. Nothing is journaled.
func (a *activities) dryRun(ctx context.Context, in opInput, op *schema.Op, conn *hostnet.Conn, req *pluginmgr.CallRequest) (*opOutput, error) {
	call := in.Conn.Vendor + "." + in.Op
	pl := plan.New()
	pl.AddStep(in.StepID, call, "", op.Effect.String())
	req.DryRun = true
	cr, err := a.rt.CallInPlan(ctx, in.Conn.Vendor, conn, req, pl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	red := a.rt.Redactor()
	out := &opOutput{Held: cr.Held, Requests: pl.Requests(in.StepID, red)}
	if cr.Err != nil {
		e := *cr.Err
		e.Message = red.String(e.Message)
		out.Err = &e
		return out, nil
	}
	registerSecretResults(red, op, cr.Result)
	if !cr.Held {
		out.Result = maskResult(in, op, cr.Result)
	}
	return out, nil
}

// retryable is the error of an op the vendor refused with a retryable
// error (429, 5xx, a dropped connection) past the host transport's own
// retries: Temporal's bounded retry policy tries the activity again. A
// write's intent stays journaled, so its next attempt reconciles before
// sending again. The details carry the op's error (masked), which a read
// gives the flow once the attempts are spent (readGaveUp); a write's
// parks the run.
func retryable(call string, write bool, red *redact.Redactor, e *pluginmgr.OpError) error {
	kind := errRetryableRead
	if write {
		kind = errRetryableWrite
	}
	masked := *e
	masked.Message = red.String(e.Message)
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: %s", call, red.String(e.Error())), kind,
		temporal.ApplicationErrorOptions{NextRetryDelay: e.RetryAfter, Details: []any{masked}})
}

// The types of retryable's errors.
const (
	errRetryableRead  = "retryable-read"
	errRetryableWrite = "retryable-write"
)

// readGaveUp returns the op error of a read whose activity spent its
// attempts on a retryable error, so the flow fails with the vendor's words
// as a local run does, not with Temporal's.
func readGaveUp(err error) (*pluginmgr.OpError, bool) {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != errRetryableRead || !ae.HasDetails() {
		return nil, false
	}
	var e pluginmgr.OpError
	if ae.Details(&e) != nil {
		return nil, false
	}
	return &e, true
}

// opHeartbeat is how long an op activity may go without a heartbeat before
// Temporal gives it to another worker: a worker killed mid-write holds its
// targets this long, not the activity's whole start-to-close timeout.
const opHeartbeat = 10 * time.Second

// opOptions adds the heartbeat timeout to an op activity's options.
func opOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithHeartbeatTimeout(ctx, opHeartbeat)
}

// shortTimeout bounds one attempt of the engine's own activities (journal,
// store, describe, close): they do not heartbeat, so a worker killed during
// one holds the run this long before another worker retries it.
const shortTimeout = 30 * time.Second

func shortOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithStartToCloseTimeout(ctx, shortTimeout)
}

// heartbeat records the activity's heartbeat until the returned stop is
// called, so Temporal knows the worker is alive during a long call.
func heartbeat(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(opHeartbeat / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// pluginConnID is the connection's id at the worker's plugin. The engine
// numbers a run's connections c1, c2...: every workflow has a c1, and a
// plugin keeps a login session per connection id, so on a worker running
// many workflows the id must carry the run, or one appliance's session
// would be sent to another.
func (in opInput) pluginConnID() string { return in.RunID + "." + in.ConnectionID }
