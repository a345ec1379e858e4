package engine_test

import (
	"context"
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

// The same code can still do something else: here the step's arguments come
// from the clock.
func TestResumeRefusesAFlowThatNowDoesOtherwise(t *testing.T) {
	it := newItems(t)
	e := newResumeEnv(t, map[string]string{"flow.star": `k = connect("testkit", url = "` + it.URL + `")
k.echo(text = str(time.now().unix))
fail("stop")
`})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := e.failedRun(t, engine.Options{Now: func() time.Time { return t0 }})
	_, err := e.run(engine.Options{Resume: id, Now: func() time.Time { return t0.Add(time.Hour) }})
	wantErr(t, err, "flow.star:2:", "testkit.echo: resume refused: the flow no longer does what run "+id+" did at step 1")
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
