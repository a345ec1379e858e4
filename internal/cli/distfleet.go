package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/fleet"
	"github.com/tokenflow/tokenflow/engine/inventory"
	"github.com/tokenflow/tokenflow/engine/plan"
	"go.temporal.io/sdk/client"
)

// runDistributedFleet is `tokenflow run FLOW --targets FILE --temporal`:
// one workflow per target (distributed.SubmitOnce: a target whose workflow
// is running is followed, one that ended runs again), followed
// with the local fleet run's display, lines and --json, and its exit codes.
// Credentials travel as references; the workers resolve them.
func runDistributedFleet(ctx context.Context, opts *RunOptions, vars map[string]string) error {
	f := opts.Factory
	_, targets, err := fleetTargets(f, opts.Targets, opts.Limit)
	if err != nil {
		return err
	}
	invPath, _ := filepath.Abs(opts.Targets)
	if err := noInventoryProxy(targets); err != nil {
		return err
	}
	if err := checkFlowVendor(opts.Flow, targets); err != nil {
		return err
	}
	base, err := distributed.Bundle(opts.Flow, opts.LibDir, nil, "")
	if err != nil {
		return err
	}
	c, err := opts.Temporal.dial(f)
	if err != nil {
		return err
	}
	defer c.Close()
	p := newFleetPrinter(ctx, opts, len(targets))
	start := time.Now()
	res := &fleet.Result{Targets: make([]fleet.TargetResult, len(targets)), Counts: map[string]int{}}
	var wg sync.WaitGroup
	for i, t := range targets {
		in := targetInput(base, vars, invPath, t, opts.DryRun)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := followTarget(ctx, opts, c, in, p)
			res.Targets[i] = tr
			p.finished(tr)
		}()
	}
	wg.Wait()
	for _, t := range res.Targets {
		res.Counts[t.Status]++
	}
	res.Elapsed = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	err = p.summary(res)
	if res.Interrupted {
		// The workflows go on without us; following them again is safe.
		return fmt.Errorf("stopped following %d target(s); their workflows go on on the workers: submit the same command again to follow them (no target runs twice)", res.Counts[fleet.Interrupted])
	}
	if len(res.Failed()) > 0 && !opts.JSON {
		fmt.Fprintln(opts.IO.Out, "Once the causes are fixed, submit the same command again: targets that completed are not run again.")
	}
	return err
}

// checkTemporalFleetFlags refuses the local fleet's scheduling flags with
// --temporal: the workers' capacity decides how many targets run at once,
// and every target's workflow is submitted.
func checkTemporalFleetFlags(cmd *cobra.Command, opts *RunOptions) error {
	if opts.Temporal.HostPort == "" {
		return nil
	}
	for _, name := range []string{"parallel", "max-failures", "fail-fast"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s schedules a local fleet run; with --temporal every target is submitted and the workers' capacity decides how many run at once (tokenflow worker)", name)
		}
	}
	return nil
}

// targetInput is one target's workflow input: the bundle, the command's
// vars under the target's, its TLS, and its credentials as references.
func targetInput(base distributed.FlowInput, vars map[string]string, invPath string, t *inventory.Target, dryRun bool) distributed.FlowInput {
	in := base
	in.TargetInfo = targetInfoJSON(invPath, t) // for rotate --due and revoke
	in.Target, in.DryRun = t.Name, dryRun
	in.Vars = maps.Clone(vars)
	if in.Vars == nil {
		in.Vars = map[string]string{}
	}
	maps.Copy(in.Vars, t.Vars)
	in.TLS = &engine.TargetTLS{URL: t.URL, CAFile: t.CAFile, Pin: t.Pin, Insecure: t.Insecure}
	in.Credentials = map[string]string{}
	for name, r := range t.Credentials {
		in.Credentials[name] = r.String()
	}
	return in
}

// followTarget submits one target's workflow and waits for its end.
func followTarget(ctx context.Context, opts *RunOptions, c client.Client, in distributed.FlowInput, p *fleetPrinter) fleet.TargetResult {
	start := time.Now()
	tr := fleet.TargetResult{Target: in.Target}
	// A target whose workflow is already running (another submission's) is
	// followed: its result is this target's.
	run, _, err := distributed.SubmitOnce(ctx, c, in, distributed.SubmitOptions{TaskQueue: opts.Temporal.TaskQueue})
	if err != nil {
		tr.Status, tr.Err = fleet.Failed, err
		return tr
	}
	p.started(in.Target)
	res, err := distributed.Wait(ctx, run)
	tr.Duration = time.Since(start)
	if res != nil {
		tr.RunID = res.RunID
		tr.Result = &engine.Result{RunID: res.RunID, Outputs: res.Outputs, Steps: res.Steps, Redactor: opts.Factory.Redactor}
		if in.DryRun {
			tr.Result.Plan = plan.FromSteps(res.Plan)
		}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// The workflow goes on on the workers; only following it stopped.
		tr.Status, tr.Err = fleet.Interrupted, fmt.Errorf("stopped following workflow %s: %w", run.GetID(), ctx.Err())
	case err != nil:
		msg, parked := distributed.Failure(err)
		tr.Status, tr.Err = fleet.Failed, errors.New(msg)
		if parked {
			tr.Status = fleet.Parked
		}
	case tr.Result.Pending() > 0:
		tr.Status = fleet.Pending
	default:
		tr.Status = fleet.OK
	}
	return tr
}

// noInventoryProxy refuses targets with an inventory proxy in distributed
// mode: the workers reach vendors through their own environment's proxies
// (HTTPS_PROXY), and a target sent without its proxy would be reached some
// other way than the inventory says.
func noInventoryProxy(targets []*inventory.Target) error {
	for _, t := range targets {
		if t.Proxy != nil {
			return fmt.Errorf("target %s (%s) names a proxy: with --temporal the workers reach vendors through their own HTTPS_PROXY; set it on the workers and drop proxy: from the inventory, or run without --temporal", t.Name, t.Pos)
		}
	}
	return nil
}
