package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/state"
	"go.starlark.net/starlark"
)

// The journal records every applied run and step in the state database so
// `tokenflow run --resume RUN` can continue an interrupted run: steps that
// completed return their recorded results without calling the vendor again,
// and a write whose outcome was never learned is reconciled by the plugin
// before anything else is sent. Dry-runs are not journaled.

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// journalBegin opens the run's journal entry, or checks and reopens the
// entry of the run being resumed.
func (r *run) journalBegin(src []byte) error {
	if r.journal == nil {
		return nil
	}
	sum := sha(src)
	if r.opts.Resume == "" {
		r.sources = map[string]string{r.flowAbs: sum}
		return r.journalErr(r.journal.BeginRun(r.ctx, state.Run{
			ID: r.id, FlowPath: r.flowAbs, Sources: r.sources, Plugins: map[string]string{}, Vars: r.opts.Vars, StartedAt: r.opts.Now(),
			Parent: r.opts.Parent, Target: r.opts.Target, TargetInfo: r.opts.TargetInfo,
		}))
	}
	rec := r.resumeRun
	if want := rec.Sources[r.flowAbs]; want != sum {
		return fmt.Errorf("resume refused: %s changed since run %s started (sha256 %.12s, now %.12s); start a new run instead", r.flowAbs, rec.ID, want, sum)
	}
	steps, err := r.journal.Steps(r.ctx, rec.ID, true)
	if err != nil {
		return err
	}
	r.resume = steps
	if r.clock, err = r.journal.ClockReadings(r.ctx, rec.ID); err != nil {
		return r.journalErr(err)
	}
	r.sources = rec.Sources
	r.pluginHashes = rec.Plugins
	if r.pluginHashes == nil {
		r.pluginHashes = map[string]string{}
	}
	return r.journalErr(r.journal.ResumeRun(r.ctx, rec.ID))
}

func (r *run) journalErr(err error) error {
	if err != nil {
		return fmt.Errorf("journal: %w (nothing further was sent)", err)
	}
	return nil
}

// journalFinish records how the run ended.
func (r *run) journalFinish(runErr error) {
	if r.journal == nil {
		return
	}
	status, msg := "ok", ""
	if runErr != nil {
		status, msg = "error", r.red.String(runErr.Error())
		if interrupted(r.ctx, runErr) {
			status = "interrupted"
		}
	}
	// An interrupted run's context is cancelled: record its end anyway,
	// or the journal says "running" forever.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
	defer cancel()
	if err := r.journal.FinishRun(ctx, r.id, status, msg); err != nil {
		r.logger.Error("journal: could not record the end of the run", "error", err)
	}
}

// journalSource records (or, when resuming, checks) a loaded file.
func (r *run) journalSource(path string, src []byte) error {
	if r.journal == nil {
		return nil
	}
	sum := sha(src)
	if r.opts.Resume != "" {
		if want, ok := r.sources[path]; ok && want != sum {
			return fmt.Errorf("resume refused: %s changed since run %s started", path, r.id)
		}
	}
	r.sources[path] = sum
	return r.journalErr(r.journal.SetRunSources(r.ctx, r.id, r.sources))
}

// journalPlugin records (or, when resuming, checks) a plugin binary.
func (r *run) journalPlugin(vendor string) error {
	if r.journal == nil {
		return nil
	}
	if _, seen := r.checkedPlugins[vendor]; seen {
		return nil
	}
	path := r.plugins.Path(vendor)
	sum, err := r.rt.pluginHash(path)
	if err != nil {
		return fmt.Errorf("hash plugin %s: %w", vendor, err)
	}
	if want, ok := r.pluginHashes[vendor]; ok && r.opts.Resume != "" && want != sum {
		return fmt.Errorf("resume refused: plugin %s (%s) changed since run %s started", vendor, path, r.id)
	}
	r.checkedPlugins[vendor] = true
	r.pluginHashes[vendor] = sum
	return r.journalErr(r.journal.SetRunPlugins(r.ctx, r.id, r.pluginHashes))
}

// saveCorrectedVars journals the vars a resume corrected, once the resume
// has replayed every finished step it could (the first step it sends): a
// resume refused on the way keeps the run's vars as they were.
func (r *run) saveCorrectedVars() error {
	if len(r.changedVars) == 0 || r.varsSaved {
		return nil
	}
	r.varsSaved = true
	return r.journalErr(r.journal.SetRunVars(r.ctx, r.id, r.opts.Vars))
}

// resumeStep answers a step from the journal of the run being resumed.
// handled is false when the step must be sent (it never completed, or its
// reconciliation says it did not take effect).
func (r *run) resumeStep(seq int, c *connection, op *schema.Op, call, stepID string, argsJSON []byte) (v starlark.Value, handled bool, err error) {
	if seq > len(r.resume) {
		return nil, false, nil
	}
	rec := r.resume[seq-1]
	if rec.Call == call && rec.Status == state.StepError {
		// It failed before: it is sent again, with the arguments the
		// (possibly corrected) vars give now.
		return nil, false, nil
	}
	if rec.Call != call || rec.ArgsHash != sha(argsJSON) {
		if len(r.changedVars) > 0 && rec.Call == call {
			return nil, true, fmt.Errorf("%s: resume refused: step %d finished in run %s with other arguments; the corrected --var %s changed what it sent. Rerun the flow without --resume instead (the shipped flows converge: what exists is found, not made again)",
				call, seq, r.id, strings.Join(r.changedVars, ", --var "))
		}
		return nil, true, fmt.Errorf("%s: resume refused: the flow no longer does what run %s did at step %d (the journal has %s at %s with other arguments or another op)",
			call, r.id, seq, rec.Call, rec.CallSite)
	}
	switch rec.Status {
	case state.StepDone:
		v, err := r.fromWire(call, rec.ResultSecret, op.Results)
		return v, true, err
	case state.StepIntent:
		if op.Effect == schema.Read {
			return nil, false, nil // a read is safe to send again
		}
		if !op.Reconcilable {
			return nil, true, fmt.Errorf("%s: resume: step %d was sent but its outcome is unknown, and the %s plugin cannot check it; look at the vendor, then start a new run", call, seq, c.vendor)
		}
		wireStep := r.prefix + stepID
		r.transport.Begin(&hostnet.Step{ID: wireStep, Call: call, Conn: c.net})
		res, err := c.plugin.Call(r.ctx, &pluginmgr.CallRequest{
			Op: op.Name, ConnectionID: c.id, Connection: c.connJSON, Args: argsJSON, StepID: wireStep, Reconcile: true,
		})
		r.transport.End(wireStep)
		if err != nil {
			return nil, true, fmt.Errorf("%s: reconcile: %w", call, err)
		}
		if res.Err != nil {
			return nil, true, fmt.Errorf("%s: reconcile: %s", call, res.Err.Error())
		}
		if res.NotApplied {
			r.logger.Info("resume: the interrupted step did not take effect; sending it again", "step", seq, "call", call)
			return nil, false, nil
		}
		v, err := r.fromWire(call, res.Result, op.Results)
		if err != nil {
			return nil, true, err
		}
		r.logger.Info("resume: the interrupted step had taken effect", "step", seq, "call", call)
		return v, true, r.journalErr(r.journal.StepFinished(r.ctx, r.id, seq, r.red.String(string(res.Result)), res.Result, state.StepDone, ""))
	}
	return nil, false, nil // it failed before: send it again
}

// now is time.now() in a flow. A journaled run records each reading (it
// rides the next commit, as a read step's record does), and a resumed run
// reads the interrupted run's readings again, in order, before it reads
// the clock: at the steps it replays the flow takes the same branches and
// sends the same arguments, however long after the interruption it runs.
func (r *run) now() (time.Time, error) {
	r.clockMu.Lock()
	defer r.clockMu.Unlock()
	r.clockSeq++
	t := r.opts.Now()
	if r.clockSeq <= len(r.clock) {
		return r.clock[r.clockSeq-1].In(t.Location()), nil
	}
	if r.journal != nil {
		if err := r.journal.ClockReading(r.ctx, r.id, r.clockSeq, t); err != nil {
			return time.Time{}, r.journalErr(err)
		}
	}
	return t, nil
}

// failpoint crashes the process at a step boundary, for crash tests:
// "after:N" once step N's result is journaled, "inflight:N" once step N was
// sent but before its result is journaled.
func (r *run) failpoint(where string, seq int) {
	fp := r.opts.Failpoint
	if fp == "" {
		return
	}
	kind, n, _ := strings.Cut(fp, ":")
	if kind != where {
		return
	}
	if want, err := strconv.Atoi(n); err == nil && want == seq {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
}

var errResumeNeedsState = errors.New("--resume needs the state database (do not pass --no-state)")
