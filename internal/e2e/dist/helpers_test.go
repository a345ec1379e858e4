// Package dist_test drives distributed fleets end to end: an embedded
// Temporal server and a throwaway PostgreSQL in the test process, simulated
// VCF appliances on loopback, and `tokenflow worker` and `tokenflow run
// --targets --temporal` as real processes of the built binary.
package dist_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/pgstate"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	_ "github.com/tokenflow/tokenflow/internal/intree" // the shipped simulators
	"github.com/tokenflow/tokenflow/internal/pgtest"
	"github.com/tokenflow/tokenflow/internal/simulators"
	vcfsim "github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	code := pgtest.Main(m, &pg)
	flowtest.Cleanup()
	os.Exit(code)
}

const (
	// realmID is flt-idb02, the realm the generated inventory names.
	realmID = "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	// vcfToken is the store name onboard.star keeps the token under.
	vcfToken  = "vcf/ci-bot/ci-bot-main"
	realmPath = "/suite-api/api/fleet-management/iam/ssorealms/" + realmID
)

// cluster is Temporal, PostgreSQL, a simulated fleet and its inventory.
type cluster struct {
	t       *testing.T
	ts      *temporaltest.TestServer
	fleet   *simulators.Fleet
	inv     string
	dbURL   string
	keyFile string
	db      *pgstate.DB
	bin     string
	queue   string
}

func newCluster(t *testing.T, n int, queue string) *cluster {
	t.Helper()
	root := t.TempDir()
	cl := &cluster{t: t, queue: queue}
	cl.bin = binary(t)
	f, err := simulators.StartFleet([]string{"vcf"}, n, true, filepath.Join(root, "fleet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	cl.fleet = f
	cl.inv = filepath.Join(root, "fleet", "inventory.yaml")
	if err := f.WriteInventory(cl.inv); err != nil {
		t.Fatal(err)
	}
	cl.ts = temporaltest.NewServer(temporaltest.WithT(t))
	cl.dbURL = pg.NewDatabase(t)
	cl.keyFile = filepath.Join(root, "key.txt")
	keys, err := state.LoadKeyring(cl.keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	if cl.db, err = pgstate.Open(context.Background(), pgstate.Options{URL: cl.dbURL, Keys: keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.db.Close() })
	return cl
}

// binary builds tokenflow beside the vcf plugin (once per process).
func binary(t *testing.T) string {
	t.Helper()
	flowtest.Plugins(t, "vcf")
	return flowtest.Binary(t, "./cmd/tokenflow", "tokenflow")
}

func (cl *cluster) sim(name string) *vcfsim.Sim { return cl.fleet.Get(name).Sim.(*vcfsim.Sim) }

func (cl *cluster) temporalArgs() []string {
	return []string{"--temporal", cl.ts.GetFrontendHostPort(), "--namespace", cl.ts.GetDefaultNamespace(), "--task-queue", cl.queue}
}

// command prepares tokenflow with the shared state, its key and the
// fleet's credentials; nothing of the shell's environment leaks in.
func (cl *cluster) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cl.bin, append([]string{"--state", cl.dbURL}, args...)...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(k, "_PASSWORD") || strings.HasPrefix(k, "TOKENFLOW_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range cl.fleet.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "TOKENFLOW_STATE_KEY="+cl.keyFile)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// worker is a `tokenflow worker` process, in its own process group so its
// plugins die with it.
type worker struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

// syncBuffer is a buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ready waits until the worker polls its task queue.
func (w *worker) ready(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.stderr.String(), "Worker on ") {
		select {
		case <-w.done:
			t.Fatalf("worker exited:\n%s", w.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker not up after 30s:\n%s", w.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (cl *cluster) startWorker() *worker {
	cl.t.Helper()
	cmd := cl.command(context.Background(), append([]string{"worker"}, cl.temporalArgs()...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w := &worker{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		cl.t.Fatal(err)
	}
	go func() { cmd.Wait(); close(w.done) }()
	cl.t.Cleanup(func() { w.kill() })
	return w
}

// kill SIGKILLs the worker and what it started.
func (w *worker) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.done
}

// line is a --json object of one target, as a local fleet run prints it.
type line struct {
	Target string `json:"target"`
	Status string `json:"status"`
	RunID  string `json:"run_id"`
	Error  string `json:"error"`
}

type summary struct {
	Summary struct {
		Targets int            `json:"targets"`
		Counts  map[string]int `json:"counts"`
	} `json:"summary"`
}

// parse splits a --json fleet output into target lines and the summary.
func parse(t *testing.T, out string) ([]line, summary) {
	t.Helper()
	var lines []line
	var s summary
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if bytes.HasPrefix(b, []byte(`{"summary"`)) {
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("not a JSON line: %s", b)
		}
		lines = append(lines, l)
	}
	return lines, s
}

// applied counts the requests a simulator answered with success.
func applied(s *vcfsim.Sim, method, path string) int {
	n := 0
	for _, e := range s.Recorder().Entries() {
		if e.Method == method && e.Path == path && e.Status >= 200 && e.Status < 300 {
			n++
		}
	}
	return n
}

// run runs `tokenflow run FLOW --targets INVENTORY --json --temporal ...`
// to its end within limit.
func (cl *cluster) run(limit time.Duration, flow string, extra ...string) (stdout, stderr string, code int, elapsed time.Duration) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	args := append([]string{"run", flowtest.Flow(flow), "--targets", cl.inv, "--json"}, cl.temporalArgs()...)
	cmd := cl.command(ctx, append(args, extra...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	elapsed = time.Since(start)
	if ctx.Err() != nil {
		cl.t.Fatalf("tokenflow %v did not end within %s\nstdout:\n%s\nstderr:\n%s", args, limit, out.String(), errb.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		cl.t.Fatal(err)
	}
	return out.String(), errb.String(), code, elapsed
}
