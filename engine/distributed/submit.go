package distributed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// SubmitOnce starts the flow for its target unless that target's workflow
// (WorkflowIDFor) is running, so one target never runs the flow twice at
// once:
//
//   - a running workflow of the target is followed, not duplicated
//     (WorkflowIDConflictPolicy USE_EXISTING): prior is true and run is
//     that workflow, whose result Wait returns;
//   - one that ended (completed, failed, parked, terminated) is started
//     afresh (WorkflowIDReusePolicy ALLOW_DUPLICATE), as a local run would
//     be: its writes are in the shared journal and the flows converge, so a
//     second onboarding changes nothing and a second rotation rotates.
func SubmitOnce(ctx context.Context, c client.Client, in FlowInput, o SubmitOptions) (run client.WorkflowRun, prior bool, err error) {
	if o.TaskQueue == "" {
		o.TaskQueue = DefaultTaskQueue
	}
	if o.WorkflowID == "" {
		o.WorkflowID = WorkflowIDFor(in)
	}
	opts := client.StartWorkflowOptions{
		ID: o.WorkflowID, TaskQueue: o.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	run, err = c.ExecuteWorkflow(ctx, opts, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return c.GetWorkflow(ctx, o.WorkflowID, started.RunId), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("submit %s for %s to Temporal: %w", filepath.Base(in.Flow), in.target(), err)
	}
	return run, false, nil
}

// Failure is why a workflow failed, without Temporal's wrapping: the
// flow's message, and whether the run is parked for a person.
func Failure(err error) (msg string, parked bool) {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message(), ae.Type() == StatusParked
	}
	return err.Error(), false
}
