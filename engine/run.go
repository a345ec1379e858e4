package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/value"
	starlarkjson "go.starlark.net/lib/json"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// Result is what a run produced.
type Result struct {
	RunID   string
	Outputs []Output
	Steps   []StepRecord
	// Plan is the dry-run plan; nil for an applied run.
	Plan     *plan.Plan
	Redactor *redact.Redactor
	// Journaled: the run is in the state journal and can be resumed.
	Journaled bool
}

// Pending is the number of changes a dry-run holds (0 for an applied run).
func (r *Result) Pending() int {
	if r.Plan == nil {
		return 0
	}
	return r.Plan.Pending()
}

// Output is one output() of the flow. Value is JSON-encodable and holds no
// secret.
type Output struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// StepRecord is one op call of the run.
type StepRecord struct {
	ID       string        `json:"id"`
	Call     string        `json:"call"`
	Position string        `json:"position"`
	Effect   string        `json:"effect"`
	Status   string        `json:"status"` // ok, held, error
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// run is the state of one Run.
type run struct {
	ctx       context.Context
	opts      Options
	id        string
	flowPath  string
	flowDir   string
	libDir    string
	red       *redact.Redactor
	plan      *plan.Plan
	transport *hostnet.Transport
	plugins   *pluginmgr.Manager
	store     store.Store
	// rt is the runtime the run uses; ownRT when the run made it (and so
	// closes it).
	rt    *Runtime
	ownRT bool
	// prefix makes this run's connection and step ids unique on a runtime
	// shared with other runs.
	prefix string
	log    io.Writer
	logger hclog.Logger

	// journal is the state database when this run is journaled (applied
	// runs with a state); resume holds the steps of the run being resumed.
	journal        state.Backend
	resumeRun      state.Run
	changedVars    []string // --var values a resume changed
	varsSaved      bool     // changedVars are journaled
	resume         []state.Step
	flowAbs        string
	sources        map[string]string
	pluginHashes   map[string]string
	checkedPlugins map[string]bool

	// clock holds the readings of time.now() made by the run being
	// resumed (see now); clockSeq counts this run's readings.
	clockMu  sync.Mutex
	clock    []time.Time
	clockSeq int

	mu        sync.Mutex
	steps     []StepRecord
	stepCount map[string]int
	outputs   []Output
	conns     []*connection
	modules   map[string]*loadEntry

	lim limitState
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
}

// Run executes the flow at flowPath. A flow error is returned as *FlowError
// (file:line and message, redacted); the Result is returned as far as the
// run got, also on error.
func Run(ctx context.Context, flowPath string, opts Options) (*Result, error) {
	if opts.Record != "" && opts.Replay != "" {
		return nil, errors.New("--record and --replay cannot be combined")
	}
	if opts.Runtime != nil && (opts.Record != "" || opts.Replay != "") {
		return nil, errors.New("engine: Record and Replay belong to the shared Runtime, not to one run")
	}
	var resumed state.Run
	var changedVars []string
	if opts.Resume != "" {
		if opts.Replay != "" || (opts.Runtime != nil && opts.Runtime.Replaying()) {
			return nil, errors.New("--resume cannot be combined with --replay: a replayed run is not journaled")
		}
		if opts.State == nil {
			return nil, errResumeNeedsState
		}
		if opts.DryRun {
			return nil, errors.New("--resume cannot be combined with --dry-run")
		}
		rec, err := opts.State.GetRun(ctx, opts.Resume)
		if err != nil {
			return nil, err
		}
		if rec.Status == "ok" {
			return nil, fmt.Errorf("run %s completed; there is nothing to resume", rec.ID)
		}
		if flowPath != "" {
			if abs, _ := filepath.Abs(flowPath); abs != rec.FlowPath {
				return nil, fmt.Errorf("run %s ran %s, not %s", rec.ID, rec.FlowPath, flowPath)
			}
		}
		flowPath = rec.FlowPath
		// A corrected --var is accepted: finished steps are replayed only
		// while their arguments hash as journaled, so a var that changed
		// what a finished step sent stops the resume at that step (see
		// resumeStep); one that no finished step used just applies.
		merged := map[string]string{}
		for k, v := range rec.Vars {
			merged[k] = v
		}
		for k, v := range opts.Vars {
			if rec.Vars[k] != v {
				changedVars = append(changedVars, k)
			}
			merged[k] = v
		}
		sort.Strings(changedVars)
		opts.Vars = merged
		resumed = rec
	}
	r, err := newRun(ctx, flowPath, opts)
	if err != nil {
		return nil, err
	}
	r.resumeRun = resumed
	r.changedVars = changedVars
	if opts.Resume != "" {
		r.id = opts.Resume
	}
	res := &Result{RunID: r.id, Plan: r.plan, Redactor: r.red, Journaled: r.journal != nil}
	unlock, err := r.lockTarget()
	if err != nil {
		r.close()
		return nil, r.red.Error(err)
	}
	defer unlock()
	stopLimits := r.startLimits()
	err = r.exec()
	stopLimits()
	err = r.limitErr(err)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrInterrupted) {
		// Whatever failed first (the journal, a builtin) failed because
		// the run was cancelled: report the interruption, resumable.
		err = fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	r.journalFinish(err)
	closeErr := r.close()
	r.mu.Lock()
	res.Outputs = r.outputs
	res.Steps = r.steps
	r.mu.Unlock()
	if err != nil {
		return res, r.red.Error(err)
	}
	if closeErr != nil {
		return res, r.red.Error(closeErr)
	}
	return res, nil
}

func newRun(ctx context.Context, flowPath string, opts Options) (*run, error) {
	if opts.Redactor == nil {
		opts.Redactor = redact.New()
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Getenv == nil {
		opts.Getenv = os.LookupEnv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = 10_000_000
	}
	if replay := opts.Replay != "" || (opts.Runtime != nil && opts.Runtime.Replaying()); replay {
		// A rehearsal must not touch the real store or journal: the
		// cassette's placeholders would become the current tokens. Only an
		// in-memory store the caller made for the rehearsal is kept.
		if _, mem := opts.Store.(*store.Memory); !mem {
			opts.Store = store.NewMemory(opts.Now)
		}
		opts.State = nil
		opts.Logger.Warn("replay: tokens go to a throwaway in-memory store and the run is not journaled")
	}
	if opts.Store == nil && opts.State != nil {
		opts.Store = opts.State
	}
	if opts.Store == nil {
		opts.Store = store.NewMemory(opts.Now)
	}
	if opts.Target == "" {
		opts.Target = opts.Vars["url"]
	}
	abs, err := filepath.Abs(flowPath)
	if err != nil {
		return nil, err
	}
	libDir := opts.LibDir
	if libDir == "" {
		libDir = filepath.Join(filepath.Dir(filepath.Dir(abs)), "lib")
	}
	idb := make([]byte, 6)
	rand.Read(idb)
	r := &run{
		ctx:            ctx,
		opts:           opts,
		id:             time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(idb),
		flowPath:       flowPath,
		flowDir:        filepath.Dir(abs),
		libDir:         libDir,
		red:            opts.Redactor,
		store:          opts.Store,
		logger:         opts.Logger,
		stepCount:      map[string]int{},
		modules:        map[string]*loadEntry{},
		flowAbs:        abs,
		sources:        map[string]string{},
		pluginHashes:   map[string]string{},
		checkedPlugins: map[string]bool{},
	}
	if opts.State != nil && !opts.DryRun {
		r.journal = opts.State
	}
	r.log = r.red.Writer(opts.Log)
	if opts.DryRun {
		r.plan = plan.New()
	}
	r.rt = opts.Runtime
	if r.rt == nil {
		rt, err := NewRuntime(RuntimeOptions{
			PluginDirs: opts.PluginDirs, SearchPATH: opts.SearchPATH, PluginStartTimeout: opts.PluginStartTimeout,
			Record: opts.Record, Replay: opts.Replay, ReplayEdited: opts.ReplayEdited,
			Redactor: r.red, Logger: opts.Logger, Retry: opts.Retry, PluginLock: opts.PluginLock,
		})
		if err != nil {
			return nil, err
		}
		r.rt, r.ownRT = rt, true
	} else if r.rt.sole {
		if err := r.rt.take(); err != nil {
			return nil, err
		}
		r.ownRT = true
	} else {
		// Ids must not collide with the other runs on the runtime.
		r.prefix = hex.EncodeToString(idb) + "."
	}
	r.transport = r.rt.transport
	r.plugins = r.rt.plugins
	return r, nil
}

// exec runs the flow's top level.
func (r *run) exec() (err error) {
	// The path as given, so an error names the file as the user typed it.
	path := r.flowPath
	if r.opts.Sources != nil {
		path = r.flowAbs
	}
	src, err := r.readSource(path)
	if err != nil {
		return fmt.Errorf("read flow: %w", err)
	}
	if err := r.journalBegin(src); err != nil {
		return err
	}
	thread := r.newThread(r.flowPath)
	stop := context.AfterFunc(r.ctx, func() { thread.Cancel("interrupted") })
	defer stop()
	defer func() {
		if p := recover(); p != nil {
			var unk *value.UnknownUsedError
			if e, ok := p.(error); ok && errors.As(e, &unk) {
				err = &FlowError{Position: unk.Position, Msg: strings.TrimPrefix(unk.Error(), unk.Position+": "), Plan: true}
				return
			}
			panic(p)
		}
	}()
	_, err = starlark.ExecFileOptions(fileOptions, thread, r.flowPath, src, r.predeclared())
	return r.flowError(err)
}

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}

func (r *run) newThread(name string) *starlark.Thread {
	thread := &starlark.Thread{
		Name: name,
		Print: func(_ *starlark.Thread, msg string) {
			fmt.Fprintln(r.log, msg)
		},
		Load: r.load,
	}
	thread.SetMaxExecutionSteps(r.opts.MaxSteps)
	thread.OnMaxSteps = func(t *starlark.Thread) {
		t.Cancel(fmt.Sprintf("flow exceeded its step limit of %d execution steps (an endless loop?)", r.opts.MaxSteps))
	}
	starlarktime.SetNow(thread, r.now)
	r.track(thread)
	return thread
}

func (r *run) predeclared() starlark.StringDict {
	return starlark.StringDict{
		"connect":  starlark.NewBuiltin("connect", r.connect),
		"var":      starlark.NewBuiltin("var", r.varFn),
		"secret":   starlark.NewBuiltin("secret", r.secretFn),
		"output":   starlark.NewBuiltin("output", r.output),
		"duration": starlark.NewBuiltin("duration", durationFn),
		"store":    r.storeModule(),
		"file":     r.fileModule(),
		"sink":     r.sinkModule(),
		"known":    starlark.NewBuiltin("known", knownFn),
		"struct":   starlark.NewBuiltin("struct", starlarkstruct.Make),
		"time":     starlarktime.Module,
		"json":     starlarkjson.Module,
	}
}

// load resolves load("x.star") against the flow's directory, then LibDir.
// Absolute paths and ".." are refused, so a flow cannot read arbitrary
// files through load.
func (r *run) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	if filepath.IsAbs(module) || strings.HasPrefix(module, "/") {
		return nil, fmt.Errorf("load(%q): absolute paths are not allowed; load relative to the flow or flows/lib", module)
	}
	clean := filepath.Clean(module)
	for _, part := range strings.Split(filepath.ToSlash(module), "/") {
		if part == ".." {
			return nil, fmt.Errorf("load(%q): \"..\" is not allowed; load relative to the flow or flows/lib", module)
		}
	}
	var path string
	for _, dir := range []string{r.flowDir, r.libDir} {
		p := filepath.Join(dir, clean)
		if r.opts.Sources != nil {
			if _, ok := r.opts.Sources[p]; ok {
				path = p
				break
			}
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			path = p
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("load(%q): not found in %s or %s", module, r.flowDir, r.libDir)
	}
	if path == r.flowAbs {
		return nil, fmt.Errorf("load(%q) resolves to the flow itself; rename one of them", module)
	}
	if e, ok := r.modules[path]; ok {
		if e == nil {
			return nil, fmt.Errorf("load(%q): cycle in load graph", module)
		}
		return e.globals, e.err
	}
	r.modules[path] = nil
	src, err := r.readSource(path)
	if err != nil {
		return nil, err
	}
	if err := r.journalSource(path, src); err != nil {
		return nil, err
	}
	t := r.newThread(path)
	t.SetLocal(threadParent, thread)
	stop := context.AfterFunc(r.ctx, func() { t.Cancel("interrupted") })
	defer stop()
	globals, err := starlark.ExecFileOptions(fileOptions, t, path, src, r.predeclared())
	r.modules[path] = &loadEntry{globals, err}
	return globals, err
}

const threadParent = "tokenflow.parent"

// readSource reads a flow file: from Options.Sources when the run has a
// bundle, else from disk.
func (r *run) readSource(path string) ([]byte, error) {
	if r.opts.Sources == nil {
		return os.ReadFile(path)
	}
	src, ok := r.opts.Sources[path]
	if !ok {
		return nil, fmt.Errorf("%s is not in the flow's bundle", path)
	}
	return src, nil
}

// errNoDisk refuses file.* and sink.* in a run that reads its flow from a
// bundle (distributed mode): they would touch the disk of whichever worker
// happens to replay the flow.
func (r *run) errNoDisk(name string) error {
	if r.opts.Sources == nil {
		return nil
	}
	return fmt.Errorf("%s: not available in distributed mode: flow code runs inside a replayed workflow and reads no disk; pass the value with var() or secret()", name)
}

// close ends every connection's session, saves the cassette and stops the
// plugins. It runs even when the flow failed.
func (r *run) close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 15*time.Second)
	defer cancel()
	for _, c := range r.conns {
		if err := c.closeSession(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if r.ownRT {
		if err := r.rt.Close(); err != nil {
			errs = append(errs, err)
		}
	} else {
		for _, c := range r.conns {
			r.transport.Forget(c.net)
		}
	}
	if c, ok := r.log.(io.Closer); ok {
		c.Close()
	}
	return errors.Join(errs...)
}
