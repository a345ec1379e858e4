package engine

import (
	"context"
	"fmt"

	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/schema"
)

// OpExecutor is where a run's op calls execute. Without one (the local
// mode) connect() takes the vendor's plugin from the run's Runtime. A
// distributed run (engine/distributed) sets one whose calls are Temporal
// activities that a worker runs on its own Runtime: the flow, replayed
// inside a workflow, never starts a plugin process itself.
type OpExecutor interface {
	// Schema is the vendor plugin's Describe, for connect() to check
	// fields and op calls against.
	Schema(ctx context.Context, vendor string) (*schema.Schema, error)
	// Plugin executes the calls of one connection. conn is the network
	// side of the connection (base URL, TLS, timeouts, proxy) as the flow
	// set it; the executor carries it to wherever the call runs.
	Plugin(vendor string, conn *hostnet.Conn) pluginmgr.Plugin
}

// PlanRecorder is implemented by an OpExecutor's plugin whose calls run
// elsewhere: in a dry-run, connect() hands it the run's plan so the
// requests made where the call ran land in it (plan.AddRequests).
type PlanRecorder interface {
	UsePlan(p *plan.Plan)
}

// Call runs one op call on this runtime's plugin for vendor, with conn as
// the connection's network settings: what a distributed worker does for
// each op activity. It registers the call with the host transport for the
// call's duration, like a local run's step.
func (rt *Runtime) Call(ctx context.Context, vendor string, conn *hostnet.Conn, req *pluginmgr.CallRequest) (*pluginmgr.CallResult, error) {
	return rt.CallInPlan(ctx, vendor, conn, req, nil)
}

// CallInPlan is Call for a dry-run: the transport records the call's
// requests (sent reads, held writes) in pl under the step req.StepID, which
// the caller added to pl. A nil pl is Call.
func (rt *Runtime) CallInPlan(ctx context.Context, vendor string, conn *hostnet.Conn, req *pluginmgr.CallRequest, pl *plan.Plan) (*pluginmgr.CallResult, error) {
	p, err := rt.plugins.Get(ctx, vendor)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", vendor, err)
	}
	write := false
	if op := p.Schema().Op(req.Op); op != nil {
		write = op.Effect == schema.Write
	}
	rt.transport.Begin(&hostnet.Step{ID: req.StepID, Call: vendor + "." + req.Op, Write: write, DryRun: req.DryRun, Conn: conn, Plan: pl, PlanStep: req.StepID})
	defer rt.transport.End(req.StepID)
	return p.Call(ctx, req)
}

// CloseConnection ends a session the vendor's plugin holds for conn and
// forgets the connection's transport state.
func (rt *Runtime) CloseConnection(ctx context.Context, vendor string, conn *hostnet.Conn, req *pluginmgr.CallRequest) error {
	p, err := rt.plugins.Get(ctx, vendor)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", vendor, err)
	}
	rt.transport.Begin(&hostnet.Step{ID: req.StepID, Call: vendor + ".close_session", Conn: conn})
	defer rt.transport.End(req.StepID)
	defer rt.transport.Forget(conn)
	return p.CloseConnection(ctx, req)
}

// Redactor is the runtime's redactor: a worker registers the secrets it
// resolves for a call with it, so plugin logs and errors mask them.
func (rt *Runtime) Redactor() *redact.Redactor { return rt.red }
