package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/fleet"
	"github.com/tokenflow/tokenflow/engine/inventory"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// fleetTargets loads the inventory and applies --limit. Nothing runs when
// the inventory is bad: every problem is reported at FILE:LINE.
func fleetTargets(f *Factory, path, limit string) (*inventory.Inventory, []*inventory.Target, error) {
	var vendors []string
	for _, in := range f.Plugins().Installed() {
		vendors = append(vendors, in.Vendor)
	}
	inv, err := inventory.Load(path, inventory.Options{KnownVendors: vendors})
	if err != nil {
		return nil, nil, fmt.Errorf("%w\nnothing was run", err)
	}
	targets, err := inv.Select(limit)
	if err != nil {
		return nil, nil, fmt.Errorf("--limit: %w\nnothing was run", err)
	}
	return inv, targets, nil
}

// targetInfo is what a run journals about its target: how to reach it
// again, never a secret.
type targetInfo struct {
	Inventory   string            `json:"inventory,omitempty"`
	Vendor      string            `json:"vendor"`
	URL         string            `json:"url"`
	CAFile      string            `json:"ca_file,omitempty"`
	Pin         string            `json:"pin,omitempty"`
	Insecure    bool              `json:"insecure,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"` // name -> reference
	Labels      map[string]string `json:"labels,omitempty"`
	Proxy       *proxyInfo        `json:"proxy,omitempty"`
}

// proxyInfo is a target's proxy as journaled: the password as a reference.
type proxyInfo struct {
	URL      string `json:"url"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"` // reference
}

// targetProxy resolves an inventory target's proxy for its run (nil: the
// environment's proxies).
func targetProxy(f *Factory, t *inventory.Target) func() (*engine.RunProxy, error) {
	if t.Proxy == nil {
		return nil
	}
	return func() (*engine.RunProxy, error) {
		pw, err := t.ProxyPassword(f.Getenv)
		if err != nil {
			return nil, err
		}
		return &engine.RunProxy{URL: t.Proxy.URL, User: t.Proxy.User, Password: pw}, nil
	}
}

// targetInfoJSON is t's targetInfo as the journal keeps it.
func targetInfoJSON(invPath string, t *inventory.Target) string {
	refs := map[string]string{}
	for name, r := range t.Credentials {
		refs[name] = r.String()
	}
	ti := targetInfo{Inventory: invPath, Vendor: t.Vendor, URL: t.URL, CAFile: t.CAFile, Pin: t.Pin,
		Insecure: t.Insecure, Credentials: refs, Labels: t.Labels}
	if px := t.Proxy; px != nil {
		ti.Proxy = &proxyInfo{URL: px.URL, User: px.User}
		if px.Password != nil {
			ti.Proxy.Password = px.Password.String()
		}
	}
	info, _ := json.Marshal(ti)
	return string(info)
}

// toFleetTarget adapts an inventory target to the engine's fleet runner.
func toFleetTarget(f *Factory, invPath string, t *inventory.Target) fleet.Target {
	return fleet.Target{
		Name: t.Name, Vendor: t.Vendor, URL: t.URL, Vars: t.Vars,
		TLS:         engine.TargetTLS{CAFile: t.CAFile, Pin: t.Pin, Insecure: t.Insecure},
		Credentials: func() (map[string]string, error) { return t.Resolve(f.Getenv) },
		Proxy:       targetProxy(f, t),
		Info:        targetInfoJSON(invPath, t),
	}
}

// checkFlowVendor refuses to run a shipped vendor's flow (flows/<vendor>/)
// on targets of other vendors: every one of them would fail at connect().
// A flow outside a vendor's directory may serve any target.
func checkFlowVendor(flow string, targets []*inventory.Target) error {
	dir := filepath.Base(filepath.Dir(flow))
	vendors := map[string]bool{}
	for _, t := range targets {
		vendors[t.Vendor] = true
	}
	if !vendors[dir] {
		return nil // not a vendor's directory (or no target of it)
	}
	var others []string
	for _, t := range targets {
		if t.Vendor != dir {
			others = append(others, t.Name)
		}
	}
	if len(others) == 0 {
		return nil
	}
	sample := others
	if len(sample) > 5 {
		sample = append(sample[:5:5], "...")
	}
	return fmt.Errorf("%s is a %s flow, but %d selected target(s) are of other vendors (%s); select the %s targets with --limit GROUP|NAME|GLOB\nnothing was run",
		flow, dir, len(others), strings.Join(sample, ", "), dir)
}

// resolveCredentials reads every target's credentials before anything runs,
// so a reference that cannot be resolved (an unset variable, a missing or
// too readable file) stops the whole run with every such reference named,
// rather than failing those targets halfway through.
func resolveCredentials(f *Factory, targets []fleet.Target) error {
	var problems []string
	for i := range targets {
		t := &targets[i]
		if t.Credentials == nil {
			continue
		}
		values, err := t.Credentials()
		if err != nil {
			problems = append(problems, f.Redactor.String(err.Error()))
			continue
		}
		for _, v := range values {
			f.Redactor.Add(v)
		}
		t.Credentials = func() (map[string]string, error) { return values, nil }
	}
	if len(problems) == 0 {
		return nil
	}
	const most = 20
	more := ""
	if len(problems) > most {
		more = fmt.Sprintf("\n  ... and %d more", len(problems)-most)
		problems = problems[:most]
	}
	return fmt.Errorf("%d credential reference(s) cannot be resolved:\n  %s%s\nnothing was run", len(problems), strings.Join(problems, "\n  "), more)
}

// targetLine is the --json object printed for each finished target.
type targetLine struct {
	Target     string         `json:"target"`
	Status     string         `json:"status"`
	RunID      string         `json:"run_id,omitempty"`
	DurationMS int64          `json:"duration_ms"`
	Pending    int            `json:"pending_changes,omitempty"`
	Outputs    map[string]any `json:"outputs,omitempty"`
	Plan       any            `json:"plan,omitempty"`
	Error      string         `json:"error,omitempty"`
	ErrorCode  string         `json:"error_code,omitempty"`
	// Log is what the flow printed for this target.
	Log string `json:"log,omitempty"`
}

// fleetSummary is the --json object that ends a fleet run.
type fleetSummary struct {
	Summary struct {
		RunID     string         `json:"run_id,omitempty"`
		Flow      string         `json:"flow"`
		Targets   int            `json:"targets"`
		Counts    map[string]int `json:"counts"`
		ElapsedMS int64          `json:"elapsed_ms"`
		Failed    []targetLine   `json:"failed,omitempty"`
	} `json:"summary"`
}

// fleetPrinter reports a fleet run as it goes: a live progress display on a
// terminal, one line per finished target otherwise, JSON lines with --json.
type fleetPrinter struct {
	opts  *RunOptions
	out   io.Writer
	mu    sync.Mutex
	total int
	start time.Time

	progress *mpb.Progress
	bar      *mpb.Bar
	running  int
	failed   int
}

func newFleetPrinter(ctx context.Context, opts *RunOptions, total int) *fleetPrinter {
	p := &fleetPrinter{opts: opts, out: opts.IO.Out, total: total, start: time.Now()}
	if opts.IO.OutTTY && !opts.JSON {
		p.progress = mpb.NewWithContext(ctx, mpb.WithOutput(opts.IO.Out), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
		p.bar = p.progress.AddBar(int64(total),
			mpb.PrependDecorators(
				decor.Name("targets "),
				decor.CountersNoUnit("%d/%d"),
			),
			mpb.AppendDecorators(
				decor.Any(func(decor.Statistics) string {
					p.mu.Lock()
					defer p.mu.Unlock()
					return fmt.Sprintf(" running %d  failed %d ", p.running, p.failed)
				}),
				decor.AverageSpeed(0, "%.1f/s "),
				decor.AverageETA(decor.ET_STYLE_GO),
			),
		)
	}
	return p
}

func (p *fleetPrinter) started(string) {
	p.mu.Lock()
	p.running++
	p.mu.Unlock()
}

func (p *fleetPrinter) finished(tr fleet.TargetResult) {
	red := p.opts.Factory.Redactor
	line := p.line(tr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr.Status != fleet.Skipped && tr.Status != fleet.Completed {
		p.running--
	}
	if tr.Status == fleet.Failed || tr.Status == fleet.Parked {
		p.failed++
	}
	switch {
	case p.bar != nil:
		p.bar.Increment()
		if tr.Status == fleet.Failed || tr.Status == fleet.Parked || p.opts.Verbose {
			// Failures stay on screen above the bar.
			fmt.Fprintf(p.progress, "%s\n", red.String(p.text(line)))
			p.writeLog(p.progress, line)
		}
	case p.opts.JSON:
		b, _ := json.Marshal(line)
		fmt.Fprintln(p.out, red.String(string(b)))
	default:
		fmt.Fprintln(p.out, red.String(p.text(line)))
		p.writeLog(p.out, line)
		if p.opts.Verbose && tr.Result != nil && tr.Result.Plan != nil {
			var buf bytes.Buffer
			tr.Result.Plan.WriteText(&buf, red)
			for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
				fmt.Fprintln(p.out, "    "+l)
			}
		}
	}
}

// writeLog shows what a target's flow printed: for a failed target always
// (it may say why), for the others with --verbose.
func (p *fleetPrinter) writeLog(w io.Writer, l targetLine) {
	if l.Log == "" || (l.Status != fleet.Failed && l.Status != fleet.Parked && !p.opts.Verbose) {
		return
	}
	for _, s := range strings.Split(strings.TrimRight(l.Log, "\n"), "\n") {
		fmt.Fprintln(w, "    | "+p.opts.Factory.Redactor.String(s))
	}
}

func (p *fleetPrinter) line(tr fleet.TargetResult) targetLine {
	l := targetLine{Target: tr.Target, Status: tr.Status, RunID: tr.RunID, DurationMS: tr.Duration.Milliseconds(), Log: tr.Log}
	if tr.Err != nil {
		l.Error = p.opts.Factory.Redactor.String(tr.Err.Error())
		l.ErrorCode = fleet.ErrorCode(tr.Err)
	}
	if r := tr.Result; r != nil {
		l.Pending = r.Pending()
		if len(r.Outputs) > 0 {
			l.Outputs = map[string]any{}
			for _, o := range r.Outputs {
				l.Outputs[o.Name] = o.Value
			}
		}
		if p.opts.Verbose && r.Plan != nil {
			l.Plan = r.Plan.Steps(p.opts.Factory.Redactor)
		}
	}
	return l
}

// text is the one-line form of a finished target.
func (p *fleetPrinter) text(l targetLine) string {
	var detail string
	switch l.Status {
	case fleet.Failed, fleet.Parked:
		detail = firstLine(l.Error)
	case fleet.Pending:
		detail = fmt.Sprintf("%d change(s) pending", l.Pending)
	case fleet.OK:
		if p.opts.DryRun {
			detail = "no changes"
		} else {
			detail = "done"
		}
	case fleet.Completed:
		detail = "finished in the run being resumed"
		if p.opts.Temporal.HostPort != "" {
			detail = "finished in an earlier submission; not run again"
		}
	case fleet.Skipped:
		detail = "not started"
	case fleet.Interrupted:
		detail = "interrupted; resumable"
	}
	s := fmt.Sprintf("%-8s %-24s %s", l.Status, l.Target, detail)
	if l.RunID != "" && l.Status != fleet.Skipped {
		s += fmt.Sprintf("  (%dms, run %s)", l.DurationMS, l.RunID)
	}
	return s
}

// resume is the command that continues fleet run id.
func (p *fleetPrinter) resume(id string) string {
	if p.opts.resumeHint != nil {
		return p.opts.resumeHint(id)
	}
	return fmt.Sprintf("tokenflow run %s --targets %s --resume %s", p.opts.Flow, p.opts.Targets, id)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// summary ends the report and returns the error that sets the exit code.
func (p *fleetPrinter) summary(res *fleet.Result) error {
	if p.progress != nil {
		p.progress.Wait()
	}
	red := p.opts.Factory.Redactor
	failed := res.Failed()
	if p.opts.JSON {
		var s fleetSummary
		s.Summary.RunID, s.Summary.Flow, s.Summary.Targets = res.ID, p.opts.Flow, len(res.Targets)
		s.Summary.Counts, s.Summary.ElapsedMS = res.Counts, res.Elapsed.Milliseconds()
		for _, t := range failed {
			s.Summary.Failed = append(s.Summary.Failed, p.line(t))
		}
		b, _ := json.Marshal(s)
		fmt.Fprintln(p.out, red.String(string(b)))
	} else {
		var parts []string
		for _, st := range []string{fleet.OK, fleet.Pending, fleet.Completed, fleet.Failed, fleet.Parked, fleet.Interrupted, fleet.Skipped} {
			if n := res.Counts[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, st))
			}
		}
		id, rate := "", ""
		if res.ID != "" {
			id = " " + res.ID
		}
		if res.Elapsed >= 100*time.Millisecond {
			rate = " (" + perSecond(float64(len(res.Targets))/res.Elapsed.Seconds()) + ")"
		}
		fmt.Fprintf(p.out, "\nFleet run%s: %d target(s) in %s%s: %s.\n", id, len(res.Targets), res.Elapsed.Round(time.Millisecond), rate, strings.Join(parts, ", "))
		if len(failed) > 0 {
			fmt.Fprintln(p.out, "Failed:")
			sort.Slice(failed, func(i, j int) bool { return failed[i].Target < failed[j].Target })
			for _, t := range failed {
				fmt.Fprintf(p.out, "  %-24s %s\n", t.Target, red.String(firstLine(t.Err.Error())))
			}
		}
		if res.ID != "" && (len(failed) > 0 || res.Counts[fleet.Skipped] > 0) && !res.Interrupted {
			fmt.Fprintf(p.out, "Once the causes are fixed, continue the targets that did not finish with:\n  %s\n", p.resume(res.ID))
		}
	}
	switch {
	case res.Interrupted && res.ID != "":
		return &InterruptedError{RunID: res.ID, Resume: p.resume(res.ID), Err: fmt.Errorf("fleet run interrupted: %d target(s) done, %d failed, %d not finished", res.Counts[fleet.OK]+res.Counts[fleet.Completed], len(failed), res.Counts[fleet.Skipped]+res.Counts[fleet.Interrupted])}
	case len(failed) > 0 || res.Counts[fleet.Skipped] > 0:
		return &SilentError{fmt.Errorf("%d target(s) failed, %d skipped", len(failed), res.Counts[fleet.Skipped])}
	case res.Counts[fleet.Pending] > 0:
		return &PendingError{Changes: res.Counts[fleet.Pending]}
	}
	return nil
}

// runFleet is `tokenflow run FLOW --targets FILE`.
func runFleet(ctx context.Context, opts *RunOptions, vars map[string]string) error {
	f := opts.Factory
	invPath, _ := filepath.Abs(opts.Targets)
	_, targets, err := fleetTargets(f, opts.Targets, opts.Limit)
	if err != nil {
		return err
	}
	if err := checkFlowVendor(opts.Flow, targets); err != nil {
		return err
	}
	ft := make([]fleet.Target, 0, len(targets))
	for _, t := range targets {
		ft = append(ft, toFleetTarget(f, invPath, t))
	}
	return runFleetTargets(ctx, opts, opts.Flow, ft, vars, fleet.MetaJSON(invPath, opts.Limit))
}

// runFleetTargets runs flow (or each target's own Flow) on targets with
// one shared runtime, reporting as it goes.
func runFleetTargets(ctx context.Context, opts *RunOptions, flow string, targets []fleet.Target, vars map[string]string, meta string) error {
	f := opts.Factory
	if err := resolveCredentials(f, targets); err != nil {
		return err
	}
	st, err := f.State(ctx)
	if err != nil {
		return err
	}
	logger := f.Logger()
	lockFrom := flow
	if lockFrom == "" && len(targets) > 0 {
		lockFrom = targets[0].Flow
	}
	lock, err := f.PluginLock(lockFrom)
	if err != nil {
		return err
	}
	rt, err := engine.NewRuntime(engine.RuntimeOptions{
		PluginDirs: f.PluginSearchDirs(), SearchPATH: true, Redactor: f.Redactor, Logger: logger,
		PluginLock: lock,
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	p := newFleetPrinter(ctx, opts, len(targets))
	res, err := fleet.Run(ctx, flow, targets, fleet.Options{
		Engine: engine.Options{
			State: st, Vars: vars, DryRun: opts.DryRun, Failpoint: opts.Failpoint,
			LibDir: opts.LibDir, MaxSteps: opts.MaxSteps, Store: opts.Store, AllowHTTP: opts.AllowHTTP,
			Getenv: f.Getenv, Logger: logger, Redactor: f.Redactor, HTTPTimeout: opts.HTTPTimeout,
		},
		Runtime: rt, Parallel: opts.Parallel, MaxFailures: opts.MaxFailures, Resume: opts.Resume,
		Meta:    meta,
		OnStart: p.started, OnFinish: p.finished,
	})
	if err != nil {
		if p.progress != nil {
			p.progress.Wait()
		}
		return err
	}
	return p.summary(res)
}

// perSecond prints a rate with the digits that matter: 220/s, 9.9/s, 0.44/s.
func perSecond(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f/s", r)
	case r >= 1:
		return fmt.Sprintf("%.1f/s", r)
	}
	return fmt.Sprintf("%.2g/s", r)
}
