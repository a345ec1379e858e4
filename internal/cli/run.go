package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/store"
)

// RunOptions are the inputs of `tokenflow run`.
type RunOptions struct {
	IO       *IOStreams
	Factory  *Factory
	Flow     string
	VarArgs  []string
	VarsFile string
	DryRun   bool
	Record   string
	Replay   string
	// ReplayEdited replays a cassette that fails its integrity check.
	ReplayEdited bool
	// AllowHTTP lets connections use http:// URLs (simulators).
	AllowHTTP bool
	JSON      bool
	LibDir    string
	MaxSteps  uint64
	// MaxMemory and Timeout are the run's limits (engine.Options).
	MaxMemory uint64
	Timeout   time.Duration
	Resume    string
	// Failpoint is a hidden flag for crash tests (engine.Options.Failpoint).
	Failpoint string

	// Store backs store.* (the demo shares one across runs). Default: a
	// fresh in-memory store.
	Store store.Store

	// Fleet runs: the flow once per inventory target.
	Targets     string
	Limit       string
	Parallel    int
	MaxFailures int
	FailFast    bool
	Verbose     bool
	// HTTPTimeout bounds each HTTP attempt (--http-timeout).
	HTTPTimeout time.Duration
	// Temporal, when HostPort is set, submits the run to Temporal.
	Temporal TemporalOptions
	// resumeHint, when set, is the command a fleet summary suggests for
	// continuing the run (rotate has its own).
	resumeHint func(id string) string
}

// NewCmdRun builds `tokenflow run`.
func NewCmdRun(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "run FLOW | run --resume RUN",
		Short: "Run a flow (or plan it with --dry-run)",
		Long: `Run a Starlark flow.

With --dry-run, reads are sent, writes are held and shown fully rendered,
and nothing changes on any vendor; the exit code is 0 when there is nothing
to change and 2 when changes are pending.`,
		Example: `  ACME_PASSWORD=... tokenflow run flows/acme/onboard.star --var url=https://acme.example \
      --var client_id=ci-bot --var token_name=ci-bot-main --dry-run`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Flow = args[0]
			}
			if opts.Flow == "" && opts.Resume == "" {
				return fmt.Errorf("run needs a FLOW file (or --resume RUN)")
			}
			if opts.Record != "" && opts.Replay != "" {
				return fmt.Errorf("--record and --replay cannot be combined")
			}
			if opts.ReplayEdited && opts.Replay == "" {
				return fmt.Errorf("--replay-edited goes with --replay FILE")
			}
			if opts.Targets == "" {
				for _, name := range []string{"limit", "parallel", "max-failures", "fail-fast", "verbose"} {
					if cmd.Flags().Changed(name) {
						return fmt.Errorf("--%s goes with --targets FILE", name)
					}
				}
			} else {
				if opts.Flow == "" {
					return fmt.Errorf("run --targets needs the FLOW file (also with --resume)")
				}
				if opts.Record != "" || opts.Replay != "" {
					return fmt.Errorf("--record and --replay work on single runs; record one target with --var url=... instead of --targets")
				}
				if opts.Parallel < 1 {
					return fmt.Errorf("--parallel %d: want 1 or more", opts.Parallel)
				}
				if opts.FailFast {
					opts.MaxFailures = 1
				}
				if err := checkTemporalFleetFlags(cmd, opts); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.VarArgs, "var", nil, "set a flow variable: --var name=value (repeatable)")
	fl.StringVar(&opts.VarsFile, "vars", "", "read flow variables from a JSON object file (--var wins)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "send reads, hold writes, print the plan; exit 2 when changes are pending")
	fl.StringVar(&opts.Record, "record", "", "record every vendor exchange to this cassette file (secrets redacted)")
	fl.StringVar(&opts.Replay, "replay", "", "answer every vendor exchange from this cassette; never touch the network")
	fl.BoolVar(&opts.ReplayEdited, "replay-edited", false, "with --replay: replay a cassette edited since it was recorded (its integrity hash no longer matches)")
	fl.BoolVar(&opts.AllowHTTP, "allow-http", false, "allow http:// vendor URLs, which carry credentials in clear (simulators only; the run log warns)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result (outputs, steps, plan) as JSON")
	fl.StringVar(&opts.LibDir, "lib", "", "directory load() searches after the flow's own (default: flows/lib beside the flow's directory)")
	fl.Uint64Var(&opts.MaxSteps, "max-steps", 0, "Starlark execution step limit (default 10,000,000)")
	fl.Var(sizeFlag{&opts.MaxMemory}, "max-memory", "stop the flow when tokenflow's heap passes this size, e.g. 2GiB (default 1GiB)")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "stop the flow after this long, e.g. 2h (default 30m)")
	fl.StringVar(&opts.Resume, "resume", "", "continue an interrupted run (see `tokenflow runs`): completed steps are not sent again")
	fl.StringVar(&opts.Targets, "targets", "", "run the flow once per target of this inventory file (see docs/inventory.md)")
	fl.StringVar(&opts.Limit, "limit", "", "with --targets: only these groups, targets or globs (comma-separated; !x excludes)")
	fl.IntVar(&opts.Parallel, "parallel", 16, "with --targets: how many targets run at once")
	fl.IntVar(&opts.MaxFailures, "max-failures", 0, "with --targets: start no new target once this many failed (0: no limit)")
	fl.BoolVar(&opts.FailFast, "fail-fast", false, "with --targets: start no new target after the first failure (--max-failures 1)")
	fl.BoolVar(&opts.Verbose, "verbose", false, "with --targets --dry-run: print each target's full plan")
	fl.DurationVar(&opts.HTTPTimeout, "http-timeout", 0, "how long one HTTP attempt to a vendor may take, body included (default 30s; all retries together: 3x)")
	fl.StringVar(&opts.Failpoint, "failpoint", "", "crash at a step boundary (tests only)")
	fl.MarkHidden("failpoint")
	opts.Temporal.flags(cmd, false)
	cmd.ValidArgsFunction = completeFlowFile
	cmd.RegisterFlagCompletionFunc("resume", completeRunIDs(f, true))
	cmd.RegisterFlagCompletionFunc("var", completeFlowVars(opts))
	return cmd
}

// parseVars merges --vars FILE and --var k=v.
func parseVars(file string, args []string) (map[string]string, error) {
	vars := map[string]string{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--vars: %w", err)
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("--vars %s: want a JSON object of names to values: %v", file, err)
		}
		for k, v := range raw {
			switch x := v.(type) {
			case string:
				vars[k] = x
			case float64, bool:
				vars[k] = fmt.Sprint(x)
			default:
				return nil, fmt.Errorf("--vars %s: %q must be a string, number or bool", file, k)
			}
		}
	}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want name=value", a)
		}
		vars[k] = v
	}
	return vars, nil
}

// runJSON is the --json shape of a run.
type runJSON struct {
	RunID   string              `json:"run_id"`
	Status  string              `json:"status"` // applied, no_changes, pending, error, interrupted
	Outputs map[string]any      `json:"outputs"`
	Steps   []engine.StepRecord `json:"steps"`
	Plan    any                 `json:"plan,omitempty"`
	Pending int                 `json:"pending_changes"`
	Error   string              `json:"error,omitempty"`
	// ErrorCode is the plugin's error code (rate_limited, ...) when a
	// plugin's error ended the run.
	ErrorCode string `json:"error_code,omitempty"`
}

func runRun(cmd *cobra.Command, opts *RunOptions) error {
	f := opts.Factory
	vars, err := parseVars(opts.VarsFile, opts.VarArgs)
	if err != nil {
		return err
	}
	fv := scanFlow(opts.Flow, opts.LibDir)
	// Only the vars of the command line are checked: an inventory's vars
	// may be meant for another flow.
	if err := checkVars(f, fv, opts.Resume, vars); err != nil {
		return err
	}
	if opts.Temporal.HostPort != "" {
		return runDistributed(cmd.Context(), opts, vars)
	}
	if opts.Targets != "" {
		return runFleet(cmd.Context(), opts, vars)
	}
	lock, err := f.PluginLock(opts.Flow)
	if err != nil {
		return err
	}
	// One run's heap is a few megabytes and short-lived: collecting at 4x
	// the live heap instead of 2x spares it the collections (with their
	// mark workers competing for the two cores the plugin's start also
	// wants) that cost ~1.5 ms of a 28 ms onboarding. Fleets keep the
	// default, as does anyone who set GOGC.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	// The run's runtime is made first so the plugins its flow connects to
	// start while the state opens and the flow loads: a plugin's start is
	// the largest fixed cost of a run.
	rt, err := engine.NewRuntime(engine.RuntimeOptions{
		Sole: true, PluginDirs: f.PluginSearchDirs(), SearchPATH: true, PluginLock: lock,
		Record: opts.Record, Replay: opts.Replay, ReplayEdited: opts.ReplayEdited,
		Redactor: f.Redactor, Logger: f.Logger(),
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	if fv != nil {
		rt.Prestart(fv.Vendors...)
	}
	st, err := f.State(cmd.Context())
	if err != nil {
		return err
	}
	eopts := engine.Options{
		Runtime: rt, State: st, Resume: opts.Resume, Failpoint: opts.Failpoint,
		Vars: vars, DryRun: opts.DryRun, AllowHTTP: opts.AllowHTTP,
		LibDir: opts.LibDir, MaxSteps: opts.MaxSteps, MaxMemory: opts.MaxMemory, Timeout: opts.Timeout, Store: opts.Store,
		Getenv: f.Getenv, Log: f.IO.ErrOut, Logger: f.Logger(), Redactor: f.Redactor,
		HTTPTimeout: opts.HTTPTimeout,
	}
	if f.IO.OutTTY && !opts.JSON && !opts.DryRun {
		eopts.OnStep = stepPrinter(f)
	}
	res, runErr := engine.Run(cmd.Context(), opts.Flow, eopts)
	return printRun(opts, res, runErr)
}

// nextStep says what to do after a journaled run failed, in CLI words:
// --resume where it can help (the vendor or the plugin was unavailable, a
// deadline or a rate limit hit, credentials were refused and can be fixed
// outside the run), a corrected rerun where it cannot (the vendor refused
// the request itself: resuming would send it again as it was).
func nextStep(err error, runID string) string {
	var oe *pluginmgr.OpError
	code := ""
	if errors.As(err, &oe) {
		code = oe.Code
	}
	switch {
	case code == "conflict" || code == "invalid_argument" || code == "not_found" || code == "permission_denied":
		return fmt.Sprintf("Run %s stopped: the vendor refused the request (%s), so resuming would only send it again. Correct the flow's vars and run it again (the shipped flows converge: what exists is found, not made again); a corrected --var that no finished step used is also accepted by: tokenflow run --resume %s --var NAME=VALUE", runID, code, runID)
	case code == "" && !errors.Is(err, pluginmgr.ErrCrashed) && !errors.Is(err, pluginmgr.ErrTimeout) && !errors.Is(err, hostnet.ErrDeadline):
		return fmt.Sprintf("Run %s stopped in the flow itself; fix the cause and run the flow again (tokenflow run --resume %s continues it if the flow's files are unchanged)", runID, runID)
	}
	return fmt.Sprintf("Run %s stopped; once the cause is fixed (%s), continue it with: tokenflow run --resume %s", runID, causeHint(code), runID)
}

func causeHint(code string) string {
	switch code {
	case "unauthenticated":
		return "the credentials the run reads"
	case "rate_limited":
		return "wait for the vendor's rate limit"
	case "unavailable":
		return "the vendor reachable again"
	}
	return "the plugin or the vendor answering"
}

func printRun(opts *RunOptions, res *engine.Result, runErr error) error {
	red := opts.Factory.Redactor
	out := opts.IO.Out
	var interrupted *InterruptedError
	if res != nil && res.Journaled && (errors.Is(runErr, engine.ErrInterrupted) || errors.Is(runErr, context.Canceled)) {
		interrupted = &InterruptedError{RunID: res.RunID, Err: runErr}
	}
	if opts.JSON {
		j := runJSON{Outputs: map[string]any{}}
		if res != nil {
			j.RunID = res.RunID
			j.Steps = res.Steps
			for _, o := range res.Outputs {
				j.Outputs[o.Name] = o.Value
			}
			if res.Plan != nil {
				j.Plan = res.Plan.Steps(red)
				j.Pending = res.Pending()
			}
		}
		switch {
		case interrupted != nil:
			j.Status = "interrupted"
			j.Error = runErr.Error()
		case runErr != nil:
			j.Status = "error"
			j.Error = runErr.Error()
		case opts.DryRun && j.Pending > 0:
			j.Status = "pending"
		case opts.DryRun:
			j.Status = "no_changes"
		default:
			j.Status = "applied"
		}
		var oe *pluginmgr.OpError
		if errors.As(runErr, &oe) {
			j.ErrorCode = oe.Code
		}
		b, err := json.MarshalIndent(j, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(out, red.String(string(b)))
		if interrupted != nil {
			return &SilentError{interrupted}
		}
		if runErr != nil {
			return &SilentError{runErr}
		}
		if j.Pending > 0 {
			return &PendingError{Changes: j.Pending}
		}
		return nil
	}

	if res != nil && res.Plan != nil {
		// A plan cut short by an error has no summary: "Plan: no changes."
		// above an error would say the opposite of what happened.
		write := res.Plan.WriteText
		if runErr != nil {
			write = res.Plan.WriteSteps
		}
		if err := write(out, red); err != nil {
			return err
		}
	}
	if runErr != nil {
		var fe *engine.FlowError
		if errors.As(runErr, &fe) && fe.Plan {
			fmt.Fprintf(out, "\nThe plan stops at %s\n", fe.Position)
		}
		if interrupted != nil {
			return interrupted
		}
		if res != nil && res.Journaled && len(res.Steps) > 0 {
			return fmt.Errorf("%w\n%s", runErr, nextStep(runErr, res.RunID))
		}
		return runErr
	}
	if res != nil && res.Plan == nil {
		ok := 0
		for _, s := range res.Steps {
			if s.Status == "ok" {
				ok++
			}
		}
		fmt.Fprintf(out, "Applied %s: %d step(s) (run %s).\n", opts.Flow, ok, res.RunID)
	}
	if res != nil && len(res.Outputs) > 0 {
		fmt.Fprintln(out, "\nOutputs:")
		names := make([]string, 0, len(res.Outputs))
		width := 0
		vals := map[string]any{}
		for _, o := range res.Outputs {
			names = append(names, o.Name)
			vals[o.Name] = o.Value
			width = max(width, len(o.Name))
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(out, "  %-*s = %s\n", width, n, red.String(formatValue(vals[n])))
		}
	}
	if res != nil && res.Plan != nil {
		if n := res.Pending(); n > 0 {
			return &PendingError{Changes: n}
		}
	}
	return nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
