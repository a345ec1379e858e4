package distributed

import (
	"errors"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkerConfig configures a worker.
type WorkerConfig struct {
	// TaskQueue defaults to DefaultTaskQueue.
	TaskQueue string
	// Runtime hosts the worker's plugin processes; the caller closes it.
	Runtime *engine.Runtime
	// State is the shared state (pgstate): the journal that makes writes
	// exactly-once and the token store.
	State state.Backend
	// IDKey keys activity-id hashes: the same for every worker of the
	// namespace (IDKeyFor).
	IDKey []byte
	// Getenv resolves env: secret references on this worker. Default
	// os.LookupEnv.
	Getenv func(string) (string, bool)
	Logger hclog.Logger
	// Options are passed to the Temporal worker.
	Options worker.Options
	// Vendors whose queues (OpsQueue) the worker polls; default: every
	// plugin the Runtime finds.
	Vendors []string
	// Sites: poll only these sites' vendor queues (default: the queues
	// of targets without a site).
	Sites []string
	// Rates limit a vendor's activities per second across all workers
	// (TaskQueueActivitiesPerSecond on its queues).
	Rates map[string]float64
}

// IDKeyFor derives the activity-id key of a namespace from the state key,
// which every worker sharing the state holds.
func IDKeyFor(keys *state.Keyring, namespace string) []byte {
	return keys.Derive("temporal activity id/" + namespace)
}

// NewWorker registers the flow workflow and the activities on a Temporal
// worker (not started).
func NewWorker(c client.Client, cfg WorkerConfig) (worker.Worker, error) {
	if cfg.Runtime == nil || cfg.State == nil {
		return nil, errors.New("distributed worker needs a Runtime and the shared State")
	}
	if len(cfg.IDKey) < 16 {
		return nil, errors.New("distributed worker needs an activity-id key of at least 16 bytes (IDKeyFor)")
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = DefaultTaskQueue
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.LookupEnv
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	w := worker.New(c, cfg.TaskQueue, cfg.Options)
	register(w, cfg)
	return newWorkers(c, cfg, w)
}

// Registry is what NewWorker and a replayer register on.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

func register(r Registry, cfg WorkerConfig) {
	f := &flowWorkflow{idKey: cfg.IDKey}
	r.RegisterWorkflowWithOptions(f.run, workflow.RegisterOptions{Name: WorkflowName})
	registerSchedule(r, cfg)
	a := &activities{rt: cfg.Runtime, state: cfg.State, getenv: cfg.Getenv, logger: cfg.Logger}
	r.RegisterActivityWithOptions(a.describe, activity.RegisterOptions{Name: activityDescribe})
	r.RegisterActivityWithOptions(a.op, activity.RegisterOptions{Name: activityOp})
	r.RegisterActivityWithOptions(a.closeConnection, activity.RegisterOptions{Name: activityClose})
	r.RegisterActivityWithOptions(a.tokenStore, activity.RegisterOptions{Name: activityStore})
	r.RegisterActivityWithOptions(a.journal, activity.RegisterOptions{Name: activityJournal})
}

// RegisterWorkflow registers only the flow workflow, keyed with idKey: for
// a replayer (worker.NewWorkflowReplayer) checking a history.
func RegisterWorkflow(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}, idKey []byte) {
	f := &flowWorkflow{idKey: idKey}
	r.RegisterWorkflowWithOptions(f.run, workflow.RegisterOptions{Name: WorkflowName})
}
