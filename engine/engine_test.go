package engine_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

// kit returns the plugin dir holding the testkit plugin.
func kit(t *testing.T) string {
	t.Helper()
	return filepath.Dir(flowtest.Binary(t, "./internal/testkit", "tokenflow-plugin-testkit"))
}

// items is a loopback server for the testkit plugin's fetch and create.
type items struct {
	*httptest.Server
	posts atomic.Int32
}

func newItems(t *testing.T) *items {
	it := &items{}
	it.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			it.posts.Add(1)
			w.Write([]byte("item-42"))
			return
		}
		w.Write([]byte("hello"))
	}))
	t.Cleanup(it.Close)
	return it
}

// runFlow writes src as a flow and runs it with the testkit plugin.
func runFlow(t *testing.T, src string, opts engine.Options) (*engine.Result, error) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "flow.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.PluginDirs = append(opts.PluginDirs, kit(t))
	opts.AllowHTTP = true // the testkit's vendor is an http:// loopback server
	if opts.Getenv == nil {
		opts.Getenv = func(k string) (string, bool) {
			if k == "KIT_PASSWORD" {
				return "kit-canary-pass-7731", true
			}
			return "", false
		}
	}
	return engine.Run(context.Background(), p, opts)
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestSyntaxErrorHasFileLine(t *testing.T) {
	_, err := runFlow(t, "x = 1\ny = (\n", engine.Options{})
	wantErr(t, err, "flow.star:3:1:", "got end of file")
}

func TestRuntimeErrorInsideDefHasBacktrace(t *testing.T) {
	_, err := runFlow(t, "def f():\n    return 1 // 0\n\nf()\n", engine.Options{})
	wantErr(t, err, "flow.star:2:14:", "division by zero", "called from", "flow.star:4:2")
}

func TestUnknownVendorListsInstalled(t *testing.T) {
	_, err := runFlow(t, `connect("testkitt", url = "http://127.0.0.1:1")`, engine.Options{})
	wantErr(t, err, "flow.star:1:8", `unknown vendor "testkitt"`, "installed: testkit", "did you mean testkit?")
}

func TestUnknownOpListsOps(t *testing.T) {
	src := `k = connect("testkit", url = "http://127.0.0.1:1")
k.ecko(text = "x")`
	_, err := runFlow(t, src, engine.Options{})
	wantErr(t, err, "flow.star:2:2", `testkit has no op "ecko"`, "did you mean echo?", "its ops are: applied, crash, create, echo, fetch, hang, item, log_secret")
}

func TestArgumentChecksPrintTheSignature(t *testing.T) {
	sig := "signature: testkit.echo(text: string, count: int = 1, key: secret = None)"
	for name, call := range map[string]string{
		"missing":    `k.echo()`,
		"ill-typed":  `k.echo(text = 3)`,
		"unknown":    `k.echo(text = "a", cont = 2)`,
		"positional": `k.echo("a")`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runFlow(t, "k = connect(\"testkit\", url = \"http://127.0.0.1:1\")\n"+call, engine.Options{})
			wantErr(t, err, "flow.star:2:", "testkit.echo", sig)
		})
	}
	_, err := runFlow(t, "k = connect(\"testkit\", url = \"http://127.0.0.1:1\")\nk.echo(text = \"a\", cont = 2)", engine.Options{})
	wantErr(t, err, `unexpected argument "cont" (did you mean count?)`)
	_, err = runFlow(t, "k = connect(\"testkit\", url = \"http://127.0.0.1:1\")\nk.echo(text = 3)", engine.Options{})
	wantErr(t, err, "for parameter text: got int, want string")
}

func TestConnectChecksFields(t *testing.T) {
	_, err := runFlow(t, `connect("testkit", uri = "http://x")`, engine.Options{})
	wantErr(t, err, `unexpected argument "uri" (did you mean url?)`, `connect("testkit", url: string`)
	_, err = runFlow(t, `connect("testkit")`, engine.Options{})
	wantErr(t, err, "missing required argument url")
	_, err = runFlow(t, `connect("testkit", url = "ftp://x")`, engine.Options{})
	wantErr(t, err, "scheme must be https or http")
}

func TestResultsAndSecrets(t *testing.T) {
	src := `k = connect("testkit", url = "http://127.0.0.1:1")
r = k.echo(text = "ab", count = 2, key = secret("env:KIT_PASSWORD"))
print("key is", r.key, "text is", r.text)
output("text", r.text)
output("count", r.count)
`
	var log bytes.Buffer
	res, err := runFlow(t, src, engine.Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs; len(got) != 2 || got[0].Value != "abab" || got[1].Value != int64(2) {
		t.Fatalf("outputs = %#v", got)
	}
	if strings.Contains(log.String(), "kit-canary") || !strings.Contains(log.String(), "key is *** text is abab") {
		t.Fatalf("log = %q", log.String())
	}
}

func TestSecretsCannotLeakThroughTheFlow(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"concat":          {`s = secret("env:KIT_PASSWORD")` + "\nx = \"p=\" + s", "cannot use + on a secret"},
		"output":          {`output("pw", secret("env:KIT_PASSWORD"))`, `output: "pw" is a secret`},
		"nonsecret param": {`k = connect("testkit", url = "http://127.0.0.1:1")` + "\nk.echo(text = secret(\"env:KIT_PASSWORD\"))", "for parameter text: got secret, want string"},
		"missing env":     {`secret("env:NOPE")`, "environment variable NOPE is not set"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runFlow(t, tc.src, engine.Options{})
			wantErr(t, err, tc.want)
			if strings.Contains(err.Error(), "kit-canary") {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
}

func TestStepLimitStopsEndlessLoop(t *testing.T) {
	start := time.Now()
	_, err := runFlow(t, "x = 0\nwhile True:\n    x += 1\n", engine.Options{MaxSteps: 100000})
	// Starlark reports a cancelled thread at the frame, not the loop line.
	wantErr(t, err, "flow.star:", "step limit of 100000", "endless loop")
	if time.Since(start) > 20*time.Second {
		t.Fatalf("step limit took %s", time.Since(start))
	}
}

func TestLoadPolicy(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`load("/etc/passwd", "x")`, "absolute paths are not allowed"},
		{`load("../x.star", "x")`, `".." is not allowed`},
		{`load("nope.star", "x")`, "not found in"},
	} {
		_, err := runFlow(t, tc.src, engine.Options{})
		wantErr(t, err, "flow.star:1:", tc.want)
	}
}

func TestAllowlistRefusesOtherHosts(t *testing.T) {
	it := newItems(t)
	other := newItems(t)
	src := `k = connect("testkit", url = "` + it.URL + `")
print(k.fetch(url = "` + it.URL + `/ok").body)
k.fetch(url = "` + other.URL + `/steal")`
	_, err := runFlow(t, src, engine.Options{})
	wantErr(t, err, "flow.star:3:8", "refused: the connection only allows "+it.URL)
}

func TestUnreachableHostIsClear(t *testing.T) {
	l := httptest.NewServer(http.NotFoundHandler())
	url := l.URL
	l.Close()
	_, err := runFlow(t, `k = connect("testkit", url = "`+url+`")
k.fetch(url = "`+url+`/x")`, engine.Options{})
	wantErr(t, err, "flow.star:2:8", "connection refused", "is the URL right")
}

func TestTLSVerificationIsOnByDefault(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	_, err := runFlow(t, `k = connect("testkit", url = "`+srv.URL+`")
k.fetch(url = "`+srv.URL+`/x")`, engine.Options{})
	wantErr(t, err, "flow.star:2:8", "certificate", "ca_file")
	// insecure = True is the documented escape hatch.
	res, err := runFlow(t, `k = connect("testkit", url = "`+srv.URL+`", insecure = True)
output("body", k.fetch(url = "`+srv.URL+`/x").body)`, engine.Options{})
	if err != nil || res.Outputs[0].Value != "ok" {
		t.Fatalf("insecure: %v %v", res, err)
	}
}

func TestDryRunHoldsWritesAndCarriesUnknowns(t *testing.T) {
	it := newItems(t)
	src := `k = connect("testkit", url = "` + it.URL + `")
r = k.create(name = "first")
k.create(name = r.id)
output("id", r.id)
`
	res, err := runFlow(t, src, engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if it.posts.Load() != 0 {
		t.Fatalf("server saw %d POSTs in a dry-run", it.posts.Load())
	}
	if res.Pending() != 2 {
		t.Fatalf("pending = %d, want 2", res.Pending())
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	for _, want := range []string{"would send: POST " + it.URL + "/items", `"name": "first"`, `"name": "(known after apply: create.id)"`, "2 change(s) pending"} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, plan.String())
		}
	}
	if res.Outputs[0].Value != "(known after apply: create.id)" {
		t.Errorf("output = %v", res.Outputs[0].Value)
	}
}

func TestDryRunStopsOnBranchingOnUnknown(t *testing.T) {
	it := newItems(t)
	src := `k = connect("testkit", url = "` + it.URL + `")
r = k.create(name = "first")
x = r.id + "-suffix"
`
	_, err := runFlow(t, src, engine.Options{DryRun: true})
	wantErr(t, err, "flow.star:3:", "cannot compute with (+) a value known only after apply (create.id)")
	src2 := `k = connect("testkit", url = "` + it.URL + `")
r = k.create(name = "first")
if r.id:
    pass
`
	_, err = runFlow(t, src2, engine.Options{DryRun: true})
	var fe *engine.FlowError
	if !errors.As(err, &fe) || !fe.Plan || !strings.Contains(fe.Position, "flow.star:3:") {
		t.Fatalf("got %v, want a plan stop at line 3", err)
	}
}

func TestPluginStderrIsRedacted(t *testing.T) {
	it := newItems(t)
	var log bytes.Buffer
	logger := newLogger(&log)
	_, err := runFlow(t, `k = connect("testkit", url = "`+it.URL+`", password = secret("env:KIT_PASSWORD"))
k.log_secret()`, engine.Options{Logger: logger.logger, Redactor: logger.red})
	if err != nil {
		t.Fatal(err)
	}
	logger.flush()
	if !strings.Contains(log.String(), "leaking on purpose") {
		t.Fatalf("plugin log not forwarded: %q", log.String())
	}
	if strings.Contains(log.String(), "kit-canary") {
		t.Fatalf("secret in plugin log: %q", log.String())
	}
}

func TestCrashedPluginIsAStepErrorAndRestarts(t *testing.T) {
	it := newItems(t)
	src := `k = connect("testkit", url = "` + it.URL + `")
k.echo(text = "before")
k.crash()`
	_, err := runFlow(t, src, engine.Options{})
	wantErr(t, err, "flow.star:3:8", "testkit.crash", "plugin crashed", "exited during the call")
	assertNoPluginProcesses(t)

	// The next call after a crash gets a fresh plugin process.
	src2 := `k = connect("testkit", url = "` + it.URL + `")
def try_crash():
    k.crash()
res = k.echo(text = "after")
output("t", res.text)`
	res, err := runFlow(t, src2, engine.Options{})
	if err != nil || res.Outputs[0].Value != "after" {
		t.Fatalf("%v %v", res, err)
	}
	assertNoPluginProcesses(t)
}

func TestCancelStopsTheOpInFlight(t *testing.T) {
	it := newItems(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "flow.star")
	os.WriteFile(p, []byte(`k = connect("testkit", url = "`+it.URL+`")
k.hang()`), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := engine.Run(ctx, p, engine.Options{PluginDirs: []string{kit(t)}})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
	assertNoPluginProcesses(t)
}

func TestMissingAndNonExecutablePlugin(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenflow-plugin-broken"), []byte("#!/bin/sh\n"), 0o644)
	_, err := runFlow(t, `connect("broken", url = "http://127.0.0.1:1")`, engine.Options{PluginDirs: []string{dir}})
	wantErr(t, err, "tokenflow-plugin-broken is not executable", "chmod +x")

	os.WriteFile(filepath.Join(dir, "tokenflow-plugin-liar"), []byte("#!/bin/sh\necho not a plugin\nexit 1\n"), 0o755)
	_, err = runFlow(t, `connect("liar", url = "http://127.0.0.1:1")`, engine.Options{PluginDirs: []string{dir}, PluginStartTimeout: 5 * time.Second})
	wantErr(t, err, "start plugin liar")
}

// assertNoPluginProcesses fails if a testkit plugin process survived.
func assertNoPluginProcesses(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", "tokenflow-plugin-testkit").Output()
		if len(bytes.TrimSpace(out)) == 0 {
			return
		}
		// A zombie shows up in pgrep too; give the reaper a moment.
		if time.Now().After(deadline) {
			ps, _ := exec.Command("ps", "-eo", "pid,stat,args").Output()
			t.Fatalf("plugin processes left behind: %s\n%s", out, ps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFileAndSinkBuiltins(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("file-canary-secret\n"), 0o644)
	out := filepath.Join(dir, "out", "token")
	os.MkdirAll(filepath.Dir(out), 0o755)
	os.WriteFile(out, []byte("old"), 0o644)

	_, err := runFlow(t, `file.read_secret("`+secretFile+`")`, engine.Options{})
	wantErr(t, err, "has mode 0644", "chmod 600")
	os.Chmod(secretFile, 0o600)

	src := `s = file.read_secret("` + secretFile + `")
output("missing", file.read_secret("` + filepath.Join(dir, "nope") + `", missing_ok = True) == None)
output("exists", file.exists("` + secretFile + `"))
sink.file("` + out + `", s)
sink.file("` + out + `.json", {"token": s, "n": 1}, format = "json")
`
	res, err := runFlow(t, src, engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" || res.Pending() != 2 {
		t.Fatalf("dry-run wrote the sink (%q) or planned %d changes", b, res.Pending())
	}
	if _, err := runFlow(t, src, engine.Options{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	fi, _ := os.Stat(out)
	if string(b) != "file-canary-secret" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sink wrote %q with mode %v", b, fi.Mode().Perm())
	}
	j, _ := os.ReadFile(out + ".json")
	if !strings.Contains(string(j), `"token": "file-canary-secret"`) {
		t.Fatalf("json sink: %s", j)
	}
	_, err = runFlow(t, `sink.file("`+out+`", "x", overwrite = False)`, engine.Options{})
	wantErr(t, err, "exists and overwrite is False")
}
