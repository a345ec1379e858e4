// Package fleet_test drives `tokenflow run FLOW --targets INVENTORY` end to
// end: the simulators run in the test process (simulators.StartFleet), the
// tokenflow binary as a subprocess, state in a temporary directory.
package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	_ "github.com/tokenflow/tokenflow/internal/intree" // the shipped simulators
	"github.com/tokenflow/tokenflow/internal/simulators"
	vcfsim "github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

const (
	// realmID is flt-idb02, the realm the generated inventory's vcf group
	// names.
	realmID = "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	// vcfToken is the store name onboard.star keeps the token under.
	vcfToken = "vcf/ci-bot/ci-bot-main"
)

// env is a simulated fleet, its inventory and a state directory.
type env struct {
	t     *testing.T
	fleet *simulators.Fleet
	dir   string // the fleet's directory: CA, inventory
	inv   string
	state string
	// vars is the environment the CLI gets besides the base one (the
	// fleet's credentials).
	vars map[string]string
}

// newEnv starts n instances of each vendor over TLS and writes their inventory.
func newEnv(t *testing.T, n int, vendors ...string) *env {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "fleet")
	f, err := simulators.StartFleet(vendors, n, true, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	e := &env{t: t, fleet: f, dir: dir, inv: filepath.Join(dir, "inventory.yaml"), state: filepath.Join(root, "state"), vars: f.Env()}
	if err := f.WriteInventory(e.inv); err != nil {
		t.Fatal(err)
	}
	return e
}

// result is how one tokenflow process ended.
type result struct {
	stdout, stderr string
	code           int // exit code; -1 when killed
	killed         bool
	elapsed        time.Duration
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + " after " + r.elapsed.Round(time.Millisecond).String() +
		"\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr
}

// binary builds tokenflow and the plugins it needs (once per process).
func binary(t *testing.T) string {
	t.Helper()
	flowtest.Plugins(t, "vcf", "bigip")
	return flowtest.Binary(t, "./cmd/tokenflow", "tokenflow")
}

// command prepares tokenflow with the env's state and credentials; the
// environment holds no password of the shell running the tests.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary(e.t), append([]string{"--state", e.state}, args...)...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(k, "_PASSWORD") || strings.HasPrefix(k, "TOKENFLOW_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs tokenflow to its end, bounded by limit.
func (e *env) run(limit time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := e.command(ctx, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		e.t.Fatalf("tokenflow %v did not end within %s\n%s", args, limit, r)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		r.killed = ee.ProcessState.String() == "signal: killed"
	default:
		e.t.Fatalf("tokenflow %v: %v", args, err)
	}
	return r
}

// fleetRun runs FLOW against the inventory.
func (e *env) fleetRun(limit time.Duration, flow string, extra ...string) result {
	e.t.Helper()
	return e.run(limit, append([]string{"run", flowtest.Flow(flow), "--targets", e.inv}, extra...)...)
}

// line is a --json object of one target.
type line struct {
	Target    string         `json:"target"`
	Status    string         `json:"status"`
	RunID     string         `json:"run_id"`
	Duration  int64          `json:"duration_ms"`
	Pending   int            `json:"pending_changes"`
	Outputs   map[string]any `json:"outputs"`
	Error     string         `json:"error"`
	ErrorCode string         `json:"error_code"`
	Log       string         `json:"log"`
}

// summary is the --json object ending a fleet run.
type summary struct {
	RunID     string         `json:"run_id"`
	Flow      string         `json:"flow"`
	Targets   int            `json:"targets"`
	Counts    map[string]int `json:"counts"`
	ElapsedMS int64          `json:"elapsed_ms"`
	Failed    []line         `json:"failed"`
}

// parseJSON splits --json output into the per-target lines (by target) and
// the summary, failing on anything else.
func parseJSON(t *testing.T, stdout string) (map[string]line, summary) {
	t.Helper()
	lines := map[string]line{}
	var sum *summary
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		raw := sc.Bytes()
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			t.Fatalf("not a JSON line: %q: %v", raw, err)
		}
		if s, ok := probe["summary"]; ok {
			if sum != nil {
				t.Fatalf("two summaries:\n%s", stdout)
			}
			sum = new(summary)
			if err := json.Unmarshal(s, sum); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if sum != nil {
			t.Fatalf("a line after the summary: %s", raw)
		}
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatal(err)
		}
		if _, dup := lines[l.Target]; dup {
			t.Fatalf("target %s reported twice:\n%s", l.Target, stdout)
		}
		lines[l.Target] = l
	}
	if sum == nil {
		t.Fatalf("no summary line:\n%s", stdout)
	}
	return lines, *sum
}

// textLines maps each target to its line of the plain-text report.
func textLines(stdout string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "ok" || f[0] == "failed" || f[0] == "pending" || f[0] == "skipped" || f[0] == "completed") {
			out[f[1]] = l
		}
	}
	return out
}

// vcf returns the VCF simulator of an instance.
func (e *env) vcf(name string) *vcfsim.Sim {
	e.t.Helper()
	r := e.fleet.Get(name)
	if r == nil {
		e.t.Fatalf("no instance %s", name)
	}
	return r.Sim.(*vcfsim.Sim)
}

// requests counts what the simulators received: every request, and writes
// (as each simulator classifies them: a VCF query is a POST that reads).
func (e *env) requests() (all, writes int) {
	for _, r := range e.fleet.Instances {
		all += len(r.Sim.Recorder().Entries())
		writes += r.Sim.Recorder().Writes()
	}
	return all, writes
}

// nonGET counts requests other than GET and HEAD, whatever they do.
func (e *env) nonGET() int {
	n := 0
	for _, r := range e.fleet.Instances {
		for _, en := range r.Sim.Recorder().Entries() {
			if en.Method != "GET" && en.Method != "HEAD" {
				n++
			}
		}
	}
	return n
}

// openState opens the state database (no tokenflow process may hold it).
func (e *env) openState() *state.DB {
	e.t.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: e.state})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// current returns the current versions of a token name on a target.
func current(t *testing.T, db *state.DB, target, name string) []store.Token {
	t.Helper()
	vs, err := db.Versions(context.Background(), target, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Token
	for _, v := range vs {
		if v.State == store.Current {
			out = append(out, v)
		}
	}
	return out
}

func exitCode(t *testing.T, r result, want int) {
	t.Helper()
	if r.killed || r.code != want {
		t.Fatalf("want exit %d, got %s", want, r)
	}
}
