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
// (WorkflowIDFor) is running or completed, so submitting a fleet again
// never runs a target twice:
//
//   - a running workflow of the target is followed, not duplicated
//     (WorkflowIDConflictPolicy USE_EXISTING);
//   - a completed one is not started again while Temporal keeps it (the
//     namespace's retention): prior is true and run is that workflow, whose
//     result Wait returns (WorkflowIDReusePolicy ALLOW_DUPLICATE_FAILED_ONLY);
//   - a failed, parked, terminated or timed-out one is started afresh: its
//     writes are in the shared journal, a new run converges.
//
// A dry-run (in.DryRun) may be repeated at will (ALLOW_DUPLICATE): it
// changes nothing.
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
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	if in.DryRun {
		opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
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
