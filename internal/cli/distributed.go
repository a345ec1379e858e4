package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/plan"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// TemporalOptions name a Temporal cluster: --temporal, --namespace,
// --task-queue on `run` and `worker`.
type TemporalOptions struct {
	HostPort  string
	Namespace string
	TaskQueue string
}

func (o *TemporalOptions) flags(cmd *cobra.Command, required bool) {
	help := "submit the flow (with --targets: one workflow per target) to the Temporal frontend at `HOST:PORT` and follow it (workers run it; see tokenflow worker)"
	if required {
		help = "the Temporal frontend at `HOST:PORT` to take flows from"
	}
	cmd.Flags().StringVar(&o.HostPort, "temporal", "", help)
	cmd.Flags().StringVar(&o.Namespace, "namespace", "default", "with --temporal: the Temporal namespace")
	cmd.Flags().StringVar(&o.TaskQueue, "task-queue", distributed.DefaultTaskQueue, "with --temporal: the task queue flows and their activities go to")
}

// dial connects to Temporal; its log goes to stderr, redacted.
func (o *TemporalOptions) dial(f *Factory) (client.Client, error) {
	h := slog.NewTextHandler(f.Redactor.Writer(f.IO.ErrOut), &slog.HandlerOptions{Level: slog.LevelWarn})
	dc, fc, err := f.temporalConverters()
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(client.Options{HostPort: o.HostPort, Namespace: o.Namespace, Logger: tlog.NewStructuredLogger(slog.New(h)),
		DataConverter: dc, FailureConverter: fc})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; check --temporal and that the frontend is up", o.HostPort, o.Namespace, err)
	}
	return c, nil
}

// runDistributed submits one flow run and waits for it, printing the result
// like a local run.
func runDistributed(ctx context.Context, opts *RunOptions, vars map[string]string) error {
	f := opts.Factory
	if opts.Record != "" || opts.Replay != "" || opts.Resume != "" {
		return fmt.Errorf("--record, --replay and --resume are local: Temporal resumes a distributed run by itself")
	}
	if opts.Targets != "" {
		return runDistributedFleet(ctx, opts, vars)
	}
	in, err := distributed.Bundle(opts.Flow, opts.LibDir, vars, "")
	if err != nil {
		return err
	}
	in.DryRun = opts.DryRun
	c, err := opts.Temporal.dial(f)
	if err != nil {
		return err
	}
	defer c.Close()
	var run client.WorkflowRun
	if opts.DryRun {
		run, _, err = distributed.SubmitOnce(ctx, c, in, distributed.SubmitOptions{TaskQueue: opts.Temporal.TaskQueue})
	} else {
		run, err = distributed.Submit(ctx, c, in, distributed.SubmitOptions{TaskQueue: opts.Temporal.TaskQueue})
	}
	if err != nil {
		return err
	}
	if !opts.JSON {
		fmt.Fprintf(f.IO.ErrOut, "Submitted %s as workflow %s; waiting for a worker to run it.\n", filepath.Base(opts.Flow), run.GetID())
	}
	res, runErr := distributed.Wait(ctx, run)
	var er *engine.Result
	if res != nil {
		er = &engine.Result{RunID: res.RunID, Outputs: res.Outputs, Steps: res.Steps, Redactor: f.Redactor}
		if opts.DryRun {
			er.Plan = plan.FromSteps(res.Plan)
		}
	}
	if runErr != nil {
		if msg, parked := distributed.Failure(runErr); parked {
			runErr = fmt.Errorf("workflow %s is parked: %s", run.GetID(), msg)
		}
	}
	return printRun(opts, er, runErr)
}

// NewCmdWorker builds `tokenflow worker`.
func NewCmdWorker(f *Factory) *cobra.Command {
	var t TemporalOptions
	var q workerQueues
	cmd := &cobra.Command{
		Use:   "worker --temporal HOST:PORT --state postgres://...",
		Short: "Run flows submitted to Temporal, on this machine's plugins",
		Long: `Run a worker: it takes flows submitted with tokenflow run --temporal,
replays them, and executes their op calls on this machine's plugins. Every
worker of a namespace shares one state in PostgreSQL (--state postgres://...)
and its key ($TOKENFLOW_STATE_KEY): writes are recorded there so a retried
call never writes twice. Secrets named by env: and file: references are
read here, on the worker. A worker takes a flow's vendor calls from the
queues of the plugins it has (TASK-QUEUE-ops-VENDOR; with --sites, those of
targets labelled with these sites: TASK-QUEUE-ops-VENDOR-SITE), and --rate
limits a vendor's calls per queue across all workers. Everything sent to
Temporal is encrypted with a key derived from the state key. Stop it with
Ctrl-C.`,
		Example: `  VCF_PASSWORD=... TOKENFLOW_STATE_KEY=/etc/tokenflow/key.txt tokenflow worker \
      --temporal temporal.example:7233 --state postgres://tokenflow@db.example/tokenflow
  tokenflow worker --temporal temporal.example:7233 --state postgres://... --sites dc1 --rate vcf=20/s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if t.HostPort == "" {
				return fmt.Errorf("worker needs --temporal HOST:PORT")
			}
			if !isStateURL(f.StateDir) {
				return fmt.Errorf("worker needs the shared state: --state postgres://user@host:port/database (a local state cannot be shared between workers)")
			}
			return runWorker(cmd.Context(), f, &t, &q)
		},
	}
	t.flags(cmd, true)
	q.flags(cmd)
	return cmd
}

func runWorker(ctx context.Context, f *Factory, t *TemporalOptions, q *workerQueues) error {
	var cfg distributed.WorkerConfig
	if err := q.config(&cfg); err != nil {
		return err
	}
	st, err := f.State(ctx)
	if err != nil {
		return err
	}
	keys, err := f.sharedKeys()
	if err != nil {
		return err
	}
	rt, err := engine.NewRuntime(engine.RuntimeOptions{
		PluginDirs: f.PluginSearchDirs(), SearchPATH: true, Redactor: f.Redactor, Logger: f.Logger(),
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := t.dial(f)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg.TaskQueue, cfg.Runtime, cfg.State, cfg.IDKey = t.TaskQueue, rt, st, distributed.IDKeyFor(keys, t.Namespace)
	cfg.Getenv, cfg.Logger = f.Getenv, f.Logger()
	w, err := distributed.NewWorker(c, cfg)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", t.TaskQueue, err)
	}
	fmt.Fprintf(f.IO.ErrOut, "Worker on %s (namespace %s, task queue %s; vendor queues %s), state %s. Ctrl-C stops it.\n", t.HostPort, t.Namespace, t.TaskQueue,
		strings.Join(distributed.WorkerQueues(w), ", "), st.Location())
	<-ctx.Done()
	w.Stop()
	return nil
}
