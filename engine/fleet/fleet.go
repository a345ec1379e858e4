// Package fleet runs one flow across many targets: Run starts a child run
// per target on one shared engine.Runtime (one plugin process per vendor
// for the whole fleet), bounded overall by Options.Parallel and to one run
// at a time per target host, and journals a parent run whose children are
// the targets' runs, so an interrupted fleet run resumes only the targets
// that did not finish.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/state"
)

// Target is one target of a fleet run.
type Target struct {
	Name   string
	Vendor string
	URL    string
	// Vars are the target's flow variables (inventory vars, url, ...).
	Vars map[string]string
	// TLS is how the target's certificate is checked.
	TLS engine.TargetTLS
	// Credentials resolves the target's credential references to values
	// (name -> secret), called when the target's run starts. A flow's
	// secret("env:NAME") is answered from these before the environment.
	Credentials func() (map[string]string, error)
	// Proxy, when set, resolves the HTTP proxy the target is reached
	// through (its password read when the target's run starts); nil: the
	// environment's proxies.
	Proxy func() (*engine.RunProxy, error)
	// Info describes the target without secrets (JSON), journaled with its
	// run so `rotate --due` can reach it again.
	Info string
	// Flow, when set, is run for this target instead of the fleet's flow
	// (`rotate --due` runs each vendor's rotate flow).
	Flow string
}

// Options configures a fleet run.
type Options struct {
	// Engine holds what every child run shares: State, DryRun, plugin
	// search, Getenv, Redactor, Logger, LibDir, MaxSteps, Now. Its Vars
	// are the base vars under each target's; its Runtime, Target,
	// TargetTLS, Parent, Resume and Log are set per child (a target's
	// print() output is kept in its TargetResult.Log, not interleaved).
	Engine engine.Options
	// Runtime is shared by every child run. Required.
	Runtime *engine.Runtime
	// Parallel bounds how many targets run at once. Default 16.
	Parallel int
	// MaxFailures stops starting new targets once this many failed
	// (0: no limit; 1 is --fail-fast). Targets not started count as
	// skipped.
	MaxFailures int
	// Resume continues the fleet run with this id: targets whose child
	// run finished are skipped, interrupted children resume, the rest
	// start afresh.
	Resume string
	// Meta is journaled with the parent run (the inventory path and
	// limit, as JSON) so a resume can find the same targets.
	Meta string
	// OnStart and OnFinish report progress; they may be called from
	// several goroutines at once.
	OnStart  func(target string)
	OnFinish func(TargetResult)
}

// Status of one target.
const (
	OK          = "ok"          // applied (or nothing to change)
	Pending     = "pending"     // a dry-run found changes
	Failed      = "failed"      // the target's run failed
	Skipped     = "skipped"     // not started: too many failures, or interrupted first
	Completed   = "completed"   // finished in the run being resumed; not run again
	Interrupted = "interrupted" // stopped by Ctrl-C or SIGTERM; resumable
	// Parked: a distributed run's write failed past its retry limit; the
	// target needs a person (engine/distributed). Counted as a failure.
	Parked = "parked"
)

// TargetResult is how one target ended.
type TargetResult struct {
	Target   string
	RunID    string
	Status   string
	Err      error
	Result   *engine.Result
	Duration time.Duration
	// Log is what the target's flow printed (redacted).
	Log string
}

// Result is how the fleet run ended.
type Result struct {
	// ID is the parent run's journal id ("" when not journaled).
	ID      string
	Targets []TargetResult // in the order of the targets given
	Counts  map[string]int
	Elapsed time.Duration
	// Interrupted: the run's context was cancelled (Ctrl-C, SIGTERM);
	// targets not finished can be resumed.
	Interrupted bool
}

// Failed lists the targets that failed (parked ones included).
func (r *Result) Failed() []TargetResult {
	var out []TargetResult
	for _, t := range r.Targets {
		if t.Status == Failed || t.Status == Parked {
			out = append(out, t)
		}
	}
	return out
}

// Run runs flow once per target. A failing target does not stop the
// others (unless MaxFailures says so). The error is about the fleet run
// itself (a journal failure, say); per-target failures are in the Result.
func Run(ctx context.Context, flow string, targets []Target, opts Options) (*Result, error) {
	if opts.Runtime == nil {
		return nil, errors.New("fleet: Options.Runtime is required")
	}
	if len(targets) == 0 {
		return nil, errors.New("fleet: no targets")
	}
	for _, t := range targets {
		if flow == "" && t.Flow == "" {
			return nil, fmt.Errorf("fleet: target %s has no flow to run", t.Name)
		}
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 16
	}
	start := time.Now()
	base := opts.Engine
	if base.Now == nil {
		base.Now = time.Now
	}
	res := &Result{Targets: make([]TargetResult, len(targets)), Counts: map[string]int{}}
	journal := base.State != nil && !base.DryRun

	// What a resumed fleet run did already, by target.
	previous := map[string]state.Run{}
	if opts.Resume != "" {
		if base.State == nil {
			return nil, errors.New("--resume needs the state database (do not pass --no-state)")
		}
		parent, err := base.State.GetRun(ctx, opts.Resume)
		if err != nil {
			return nil, err
		}
		if parent.Kind != "fleet" {
			return nil, fmt.Errorf("run %s is not a fleet run; resume it without --targets", parent.ID)
		}
		if abs, _ := filepath.Abs(flow); flow != "" && abs != parent.FlowPath {
			return nil, fmt.Errorf("fleet run %s ran %s, not %s", parent.ID, parent.FlowPath, flow)
		}
		children, err := base.State.Children(ctx, parent.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range children {
			previous[c.Target] = c // the latest child of a target wins
		}
		res.ID = parent.ID
		if err := base.State.ResumeRun(ctx, parent.ID); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	} else if journal {
		res.ID = newID()
		abs := ""
		if flow != "" {
			abs, _ = filepath.Abs(flow)
		}
		if err := base.State.BeginRun(ctx, state.Run{
			ID: res.ID, Kind: "fleet", FlowPath: abs, Vars: base.Vars, StartedAt: base.Now(), TargetInfo: opts.Meta,
			Sources: map[string]string{}, Plugins: map[string]string{},
		}); err != nil {
			return nil, fmt.Errorf("journal: %w (nothing was sent)", err)
		}
	}

	var (
		mu       sync.Mutex
		failures int
		hosts    = map[string]*sync.Mutex{}
		wg       sync.WaitGroup
		sem      = make(chan struct{}, opts.Parallel)
	)
	hostLock := func(u string) *sync.Mutex {
		mu.Lock()
		defer mu.Unlock()
		key := hostKey(u)
		if hosts[key] == nil {
			hosts[key] = &sync.Mutex{}
		}
		return hosts[key]
	}
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return opts.MaxFailures > 0 && failures >= opts.MaxFailures
	}
	finish := func(i int, tr TargetResult) {
		mu.Lock()
		res.Targets[i] = tr
		if tr.Status == Failed {
			failures++
		}
		mu.Unlock()
		if opts.OnFinish != nil {
			opts.OnFinish(tr)
		}
	}

	for i, t := range targets {
		if prev, ok := previous[t.Name]; ok && prev.Status == "ok" {
			finish(i, TargetResult{Target: t.Name, RunID: prev.ID, Status: Completed})
			continue
		}
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if !acquired || ctx.Err() != nil || stop() {
			if acquired {
				<-sem
			}
			finish(i, TargetResult{Target: t.Name, Status: Skipped})
			continue
		}
		wg.Add(1)
		go func(i int, t Target) {
			defer wg.Done()
			defer func() { <-sem }()
			lock := hostLock(t.URL)
			lock.Lock()
			defer lock.Unlock()
			if ctx.Err() != nil {
				finish(i, TargetResult{Target: t.Name, Status: Skipped})
				return
			}
			if opts.OnStart != nil {
				opts.OnStart(t.Name)
			}
			resume := ""
			if prev, ok := previous[t.Name]; ok && prev.Status != "ok" {
				resume = prev.ID
			}
			finish(i, runTarget(ctx, flow, t, base, opts.Runtime, res.ID, resume))
		}(i, t)
	}
	wg.Wait()

	for _, t := range res.Targets {
		res.Counts[t.Status]++
	}
	res.Elapsed = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	if res.ID != "" && base.State != nil {
		status, msg := "ok", ""
		switch {
		case ctx.Err() != nil:
			status, msg = "interrupted", "interrupted"
		case res.Counts[Failed] > 0 || res.Counts[Skipped] > 0:
			status = "error"
			msg = fmt.Sprintf("%d of %d targets failed, %d skipped", res.Counts[Failed], len(targets), res.Counts[Skipped])
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := base.State.FinishRun(fctx, res.ID, status, msg); err != nil {
			return res, fmt.Errorf("journal: could not record the end of fleet run %s: %w", res.ID, err)
		}
	}
	return res, nil
}

// runTarget runs the flow against one target.
func runTarget(ctx context.Context, flow string, t Target, base engine.Options, rt *engine.Runtime, parent, resume string) TargetResult {
	start := time.Now()
	out := TargetResult{Target: t.Name}
	var log strings.Builder
	done := func(r *engine.Result, err error) TargetResult {
		out.Duration = time.Since(start)
		out.Log = log.String()
		out.Result = r
		if r != nil {
			out.RunID = r.RunID
		}
		switch {
		case err != nil && errors.Is(err, engine.ErrInterrupted):
			out.Status, out.Err = Interrupted, err
		case err != nil:
			out.Status, out.Err = Failed, err
		case r != nil && r.Pending() > 0:
			out.Status = Pending
		default:
			out.Status = OK
		}
		return out
	}
	opts := base
	opts.Log = &lockedWriter{w: &log}
	opts.Runtime = rt
	opts.Target = t.Name
	opts.TargetInfo = t.Info
	opts.Parent = parent
	opts.Resume = resume
	tls := t.TLS
	tls.URL = t.URL
	opts.TargetTLS = &tls
	vars := map[string]string{}
	for k, v := range base.Vars {
		vars[k] = v
	}
	for k, v := range t.Vars {
		vars[k] = v
	}
	opts.Vars = vars
	if resume != "" {
		opts.Vars = nil // a resumed run keeps its journaled vars
	}
	creds := map[string]string{}
	if t.Credentials != nil {
		c, err := t.Credentials()
		if err != nil {
			return done(nil, fmt.Errorf("credentials: %w", err))
		}
		creds = c
	}
	for _, v := range creds {
		if base.Redactor != nil {
			base.Redactor.Add(v)
		}
	}
	if t.Proxy != nil {
		px, err := t.Proxy()
		if err != nil {
			return done(nil, fmt.Errorf("proxy: %w", err))
		}
		opts.Proxy = px // its password joins the redactor in connect()
	}
	getenv := base.Getenv
	opts.Getenv = func(name string) (string, bool) {
		if v, ok := creds[name]; ok {
			return v, true
		}
		if getenv != nil {
			return getenv(name)
		}
		return "", false
	}
	if t.Flow != "" {
		flow = t.Flow
	}
	if resume != "" {
		flow = ""
	}
	r, err := engine.Run(ctx, flow, opts)
	return done(r, err)
}

// lockedWriter serialises writes: a run's print() and its plugin's log
// lines may arrive from different goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// hostKey is the scheme://host:port a target's URL reaches; two targets on
// one appliance never run at once.
func hostKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

func newID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-fleet-" + hex.EncodeToString(b)
}

// ErrorCode is the plugin's error class of a failed target ("" when the
// failure did not come from a plugin).
func ErrorCode(err error) string {
	var oe *pluginmgr.OpError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

// MetaJSON encodes what a fleet run's parent records about its targets.
func MetaJSON(inventory, limit string) string {
	b, _ := json.Marshal(map[string]string{"inventory": inventory, "limit": limit})
	return string(b)
}
