package distributed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"go.temporal.io/sdk/client"
)

// SubmitOptions configures Submit.
type SubmitOptions struct {
	TaskQueue string
	// WorkflowID defaults to one derived from the flow and the target, so
	// a second submit for a target still running is refused.
	WorkflowID string
}

// WorkflowIDFor is the default workflow id of a flow run on a target: the
// flow's path and the target (an inventory target's name and URL, or the
// url var), hashed; an inventory target's name is in it for people. A
// dry-run has ids of its own, so planning never collides with applying.
func WorkflowIDFor(in FlowInput) string {
	key := in.Flow + "\x00" + in.target()
	if in.TLS != nil {
		key += "\x00" + in.TLS.URL
	}
	h := sha256.Sum256([]byte(key))
	kind := "tokenflow-"
	if in.DryRun {
		kind = "tokenflow-plan-"
	}
	name := filepath.Base(in.Flow)
	if in.Target != "" {
		name += "-" + in.Target
	}
	return kind + name + "-" + hex.EncodeToString(h[:])[:16]
}

// Submit starts the flow as a workflow and returns its handle.
func Submit(ctx context.Context, c client.Client, in FlowInput, o SubmitOptions) (client.WorkflowRun, error) {
	if o.TaskQueue == "" {
		o.TaskQueue = DefaultTaskQueue
	}
	if o.WorkflowID == "" {
		o.WorkflowID = WorkflowIDFor(in)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: o.WorkflowID, TaskQueue: o.TaskQueue}, WorkflowName, in)
	if err != nil {
		return nil, fmt.Errorf("submit %s to Temporal: %w", filepath.Base(in.Flow), err)
	}
	return run, nil
}

// Wait waits for a submitted flow and returns its result.
func Wait(ctx context.Context, run client.WorkflowRun) (*FlowResult, error) {
	var res FlowResult
	if err := run.Get(ctx, &res); err != nil {
		return nil, fmt.Errorf("workflow %s: %w", run.GetID(), err)
	}
	return &res, nil
}
