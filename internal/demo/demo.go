// Package demo runs the shipped flows against in-process simulators, so a
// new user sees the whole product work with no appliance: `tokenflow demo`.
//
// Each vendor contributes a Scenario from its own folder (plugins/<vendor>/intree
// calls Register) that narrates and runs its flows through Env; Run starts the
// simulators over HTTPS with a generated CA and plays every scenario in order.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/simulators"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Scenario is one vendor's part of the demo.
type Scenario struct {
	Vendor string
	// Order places the scenario in the demo: lower plays first, ties by
	// vendor name (the first one introduces the product).
	Order int
	Run   func(e *Env) error
}

var (
	scenarioMu sync.Mutex
	scenarios  []Scenario
)

// Register adds a vendor's scenario; the vendor's simulator must be
// registered with internal/simulators too. It panics on a repeated vendor.
func Register(s Scenario) {
	scenarioMu.Lock()
	defer scenarioMu.Unlock()
	if s.Vendor == "" || s.Run == nil {
		panic("demo: a scenario needs a Vendor and a Run")
	}
	for _, have := range scenarios {
		if have.Vendor == s.Vendor {
			panic(fmt.Sprintf("demo: scenario for %q registered twice", s.Vendor))
		}
	}
	scenarios = append(scenarios, s)
}

// Scenarios lists every registered scenario, in the order the demo plays them.
func Scenarios() []Scenario {
	scenarioMu.Lock()
	defer scenarioMu.Unlock()
	out := slices.Clone(scenarios)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Vendor < out[j].Vendor
	})
	return out
}

// Options configures a demo run.
type Options struct {
	Out        io.Writer
	FlowsDir   string   // the shipped flows
	PluginDirs []string // where the plugin binaries are
	Vendors    []string // only these scenarios; empty: all
	Logger     hclog.Logger
	Redactor   *redact.Redactor
	Log        io.Writer // print() output of the flows
	// CLI runs a tokenflow command in-process with env overlaid on the
	// environment and flow paths relative to the flows directory's parent
	// (the fleet part of the demo is driven through the CLI); it returns the
	// exit code. Nil skips the fleet part.
	CLI func(ctx context.Context, env map[string]string, flowsDir string, args ...string) int
}

// Env is what a scenario uses.
type Env struct {
	Out    io.Writer
	CAFile string
	Store  store.Store
	Clock  *simkit.Clock

	ctx  context.Context
	opts Options
	sims *simulators.Set
}

// Say prints a line of narration.
func (e *Env) Say(format string, args ...any) {
	fmt.Fprintf(e.Out, "  "+format+"\n", args...)
}

// Redact masks every secret the demo has seen in s, for narration that
// quotes an error.
func (e *Env) Redact(s string) string { return e.opts.Redactor.String(s) }

// Sim returns a running simulator.
func (e *Env) Sim(vendor string) *simulators.Running { return e.sims.Get(vendor) }

// Run runs a shipped flow (path relative to the flows directory) and prints
// its plan or outputs. env feeds secret("env:...").
func (e *Env) Run(title, flow string, vars, env map[string]string, dryRun bool) (*engine.Result, error) {
	mode := "apply"
	if dryRun {
		mode = "dry-run"
	}
	fmt.Fprintf(e.Out, "\n── %s (%s)\n", title, mode)
	fmt.Fprintf(e.Out, "   $ tokenflow run flows/%s%s%s\n\n", flow, varFlags(vars), map[bool]string{true: " --dry-run"}[dryRun])
	res, err := engine.Run(e.ctx, filepath.Join(e.opts.FlowsDir, flow), engine.Options{
		Vars: vars, DryRun: dryRun, PluginDirs: e.opts.PluginDirs, Store: e.Store,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:    e.Clock.Now, Log: e.opts.Log, Logger: e.opts.Logger, Redactor: e.opts.Redactor,
	})
	if res != nil && res.Plan != nil {
		res.Plan.WriteText(indent(e.Out), res.Redactor)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", title, err)
	}
	if res.Plan == nil {
		fmt.Fprintf(e.Out, "   applied: %d step(s)\n", len(res.Steps))
	}
	for _, o := range res.Outputs {
		fmt.Fprintf(e.Out, "   %s = %s\n", o.Name, e.opts.Redactor.String(show(o.Value)))
	}
	return res, nil
}

// show prints an output value: strings as they are, the rest as JSON.
func show(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func varFlags(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if k == "url" || k == "ca_file" {
			continue // noise: every run has them
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " --var %s=%s", k, vars[k])
	}
	return b.String()
}

type indentWriter struct{ w io.Writer }

func indent(w io.Writer) io.Writer { return &indentWriter{w} }

func (iw *indentWriter) Write(p []byte) (int, error) {
	s := strings.ReplaceAll(string(p), "\n", "\n  ")
	_, err := io.WriteString(iw.w, "  "+strings.TrimSuffix(s, "  "))
	return len(p), err
}

// Run plays the demo.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Redactor == nil {
		opts.Redactor = redact.New()
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if fi, err := os.Stat(opts.FlowsDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("flows directory %q not found; run the demo from the repository root or pass --flows", opts.FlowsDir)
	}
	dir, err := os.MkdirTemp("", "tokenflow-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	scenarios := Scenarios()
	var vendors []string
	for _, s := range scenarios {
		if len(opts.Vendors) == 0 || contains(opts.Vendors, s.Vendor) {
			vendors = append(vendors, s.Vendor)
		}
	}
	clock := simkit.NewRealClock()
	sims, err := simulators.Start(vendors, true, dir, clock)
	if err != nil {
		return err
	}
	defer sims.Close()
	e := &Env{Out: opts.Out, CAFile: sims.CAFile, Store: store.NewMemory(clock.Now), Clock: clock, ctx: ctx, opts: opts, sims: sims}
	fmt.Fprintf(opts.Out, "tokenflow demo: %d simulator(s) on loopback over HTTPS (CA %s)\n", len(sims.Sims), sims.CAFile)
	for _, r := range sims.Sims {
		fmt.Fprintf(opts.Out, "  %-11s %s\n", r.Vendor, r.Server.URL)
	}
	for _, s := range scenarios {
		if !contains(vendors, s.Vendor) {
			continue
		}
		fmt.Fprintf(opts.Out, "\n═══ %s ═══\n", s.Vendor)
		if err := s.Run(e); err != nil {
			return fmt.Errorf("%s scenario: %w", s.Vendor, err)
		}
	}
	if err := summary(ctx, e); err != nil {
		return err
	}
	if len(opts.Vendors) == 0 {
		if err := runFleet(ctx, opts, dir); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.Out, "\nDemo complete.\n")
	return nil
}

func summary(ctx context.Context, e *Env) error {
	tokens, err := e.Store.List(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "\n═══ summary ═══\n  token store (values never shown):\n")
	width := 0
	for _, t := range tokens {
		width = max(width, len(t.Name))
	}
	for _, t := range tokens {
		exp := "-"
		if !t.ExpiresAt.IsZero() {
			exp = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		rot := "never"
		if !t.RotatedAt.IsZero() {
			rot = t.RotatedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(e.Out, "  %-*s  %-10s expires %s  rotated %s\n", width, t.Name, t.Vendor, exp, rot)
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
