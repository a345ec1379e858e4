package engine_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
)

// Each of resume's refusals: a resumed run must do what the run did, with
// the same code, or stop before it sends anything it cannot vouch for.

type resumeEnv struct {
	dir, flow, plugins string
	st                 *state.DB
}

// newResumeEnv writes the flow (and files it loads) and opens a state
// database. plugins is a private copy of the testkit plugin's directory, so
// a test can change the binary.
func newResumeEnv(t *testing.T, files map[string]string) *resumeEnv {
	t.Helper()
	e := &resumeEnv{dir: t.TempDir(), plugins: t.TempDir()}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.flow = filepath.Join(e.dir, "flow.star")
	src, err := os.Open(filepath.Join(kit(t), "tokenflow-plugin-testkit"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(e.plugins, "tokenflow-plugin-testkit"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	dst.Close()
	e.st = e.open(t)
	return e
}

func (e *resumeEnv) open(t *testing.T) *state.DB {
	t.Helper()
	st, err := state.Open(context.Background(), state.Options{Dir: filepath.Join(e.dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (e *resumeEnv) run(opts engine.Options) (*engine.Result, error) {
	opts.State = e.st
	opts.PluginDirs = []string{e.plugins}
	opts.AllowHTTP = true // the testkit's vendor is an http:// loopback server
	flow := e.flow
	if opts.Resume != "" {
		flow = ""
	}
	return engine.Run(context.Background(), flow, opts)
}

// failedRun runs the flow once; it must fail after journaling its steps.
func (e *resumeEnv) failedRun(t *testing.T, opts engine.Options) string {
	t.Helper()
	res, err := e.run(opts)
	if err == nil || res == nil || !res.Journaled || len(res.Steps) == 0 {
		t.Fatalf("first run: %v (%+v); want a journaled failure after a step", err, res)
	}
	return res.RunID
}

func TestResumeRefusesAChangedPlugin(t *testing.T) {
	it := newItems(t)
	e := newResumeEnv(t, map[string]string{"flow.star": `k = connect("testkit", url = "` + it.URL + `")
k.echo(text = "a")
fail("stop")
`})
	id := e.failedRun(t, engine.Options{})
	f, _ := os.OpenFile(filepath.Join(e.plugins, "tokenflow-plugin-testkit"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("\x00rebuilt"))
	f.Close()
	_, err := e.run(engine.Options{Resume: id})
	wantErr(t, err, "resume refused: plugin testkit", "changed since run "+id)
}

func TestResumeRefusesAChangedModule(t *testing.T) {
	it := newItems(t)
	e := newResumeEnv(t, map[string]string{
		"flow.star": `load("helper.star", "name")
k = connect("testkit", url = "` + it.URL + `")
k.echo(text = name)
fail("stop")
`,
		"helper.star": `name = "a"` + "\n",
	})
	id := e.failedRun(t, engine.Options{})
	os.WriteFile(filepath.Join(e.dir, "helper.star"), []byte(`name = "b"`+"\n"), 0o644)
	_, err := e.run(engine.Options{Resume: id})
	wantErr(t, err, "resume refused:", "helper.star changed since run "+id)
}

// A resumed run reads the clock as the interrupted run did: the step whose
// arguments came from time.now() replays (it did not, when the clock was
// not journaled: "the flow no longer does what run ... did"), and a
// reading the interrupted run never made is the clock's.
func TestResumeReadsTheClockAsTheRunDid(t *testing.T) {
	it := newItems(t)
	e := newResumeEnv(t, map[string]string{"flow.star": `k = connect("testkit", url = "` + it.URL + `")
t1 = time.now()
k.echo(text = str(t1.unix))
k.fetch(url = var("probe"))
t2 = time.now()
output("t1", t1.unix)
output("t2", t2.unix)
`})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// The probe's host is not the connection's: the step fails.
	id := e.failedRun(t, engine.Options{Now: func() time.Time { return t0 }, Vars: map[string]string{"probe": "http://192.0.2.1/"}})
	res, err := e.run(engine.Options{Resume: id, Now: func() time.Time { return t0.Add(time.Hour) }, Vars: map[string]string{"probe": it.URL + "/items"}})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Steps[0].Status != "replayed" {
		t.Errorf("step 1 is %q, want replayed", res.Steps[0].Status)
	}
	out := map[string]any{}
	for _, o := range res.Outputs {
		out[o.Name] = o.Value
	}
	if fmt.Sprint(out["t1"]) != fmt.Sprint(t0.Unix()) || fmt.Sprint(out["t2"]) != fmt.Sprint(t0.Add(time.Hour).Unix()) {
		t.Errorf("outputs %v: want t1 the interrupted run's reading (%d), t2 the clock's (%d)", out, t0.Unix(), t0.Add(time.Hour).Unix())
	}
}

// A write cut off in flight (the process killed while the vendor answered)
// whose plugin has no reconcile: resume does not send it again blindly.
func TestResumeRefusesAnUncheckableWrite(t *testing.T) {
	it := newItems(t)
	e := newResumeEnv(t, map[string]string{"flow.star": `k = connect("testkit", url = "` + it.URL + `")
k.create(name = "x")
`})
	e.st.Close()
	// The first run dies in a child process (the failpoint kills it).
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeCrashHelper$")
	cmd.Env = append(os.Environ(), "TOKENFLOW_CRASH_HELPER="+e.dir, "TOKENFLOW_CRASH_PLUGINS="+e.plugins)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		t.Fatalf("the first run was not killed: %v\n%s", err, out)
	}
	e.st = e.open(t)
	runs, err := e.st.Runs(context.Background(), 1)
	if err != nil || len(runs) != 1 || runs[0].Status != "running" {
		t.Fatalf("journal after the kill: %+v, %v", runs, err)
	}
	posts := it.posts.Load()
	if posts != 1 {
		t.Fatalf("%d POSTs before the kill, want 1", posts)
	}
	_, err = e.run(engine.Options{Resume: runs[0].ID})
	wantErr(t, err, "flow.star:2:", "testkit.create: resume: step 1 was sent but its outcome is unknown, and the testkit plugin cannot check it; look at the vendor, then start a new run")
	if it.posts.Load() != posts {
		t.Error("resume sent the write again")
	}
}

// TestResumeCrashHelper is the child process of TestResumeRefusesAnUncheckableWrite.
func TestResumeCrashHelper(t *testing.T) {
	dir := os.Getenv("TOKENFLOW_CRASH_HELPER")
	if dir == "" {
		t.Skip("runs as a child of TestResumeRefusesAnUncheckableWrite")
	}
	st, err := state.Open(context.Background(), state.Options{Dir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Run(context.Background(), filepath.Join(dir, "flow.star"), engine.Options{
		State: st, Failpoint: "inflight:1", PluginDirs: []string{os.Getenv("TOKENFLOW_CRASH_PLUGINS")}, AllowHTTP: true,
	})
	t.Fatalf("the failpoint did not kill the run: %v", err)
}
