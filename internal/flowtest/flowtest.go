// Package flowtest runs shipped flows through the real engine and real
// plugin binaries in tests: Plugins builds the plugin binaries once per test
// process, Run executes a flow with them.
package flowtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]error{}
)

// RepoRoot is the module root (found from this file's location).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Flow returns the path of a shipped flow: Flow("vcf", "onboard.star").
func Flow(parts ...string) string {
	return filepath.Join(append([]string{RepoRoot(), "flows"}, parts...)...)
}

// Plugins builds tokenflow-plugin-<vendor> for each vendor (once per test
// process) and returns the directory holding them. The binaries live in a
// process-wide temporary directory removed by Cleanup in TestMain, or left
// to the OS.
func Plugins(t testing.TB, vendors ...string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		d, err := os.MkdirTemp("", "tokenflow-plugins-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	for _, v := range vendors {
		err, ok := built[v]
		if !ok {
			err = build(v, filepath.Join(buildDir, "tokenflow-plugin-"+v))
			built[v] = err
		}
		if err != nil {
			t.Fatalf("build plugin %s: %v", v, err)
		}
	}
	return buildDir
}

// Binary builds a package of this module (for example "./cmd/tokenflow")
// into the plugin directory and returns its path.
func Binary(t testing.TB, pkg, name string) string {
	t.Helper()
	dir := Plugins(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	out := filepath.Join(dir, name)
	key := "bin:" + pkg + ":" + name
	err, ok := built[key]
	if !ok {
		err = goBuild(pkg, out)
		built[key] = err
	}
	if err != nil {
		t.Fatalf("build %s: %v", pkg, err)
	}
	return out
}

func build(vendor, out string) error {
	return goBuild("./plugins/"+vendor, out)
}

func goBuild(pkg, out string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	// As make build does: static binaries start without the dynamic
	// loader, about 1 ms less per plugin launch.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return nil
}

// Cleanup removes the built binaries; call it from TestMain after m.Run.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Run runs a flow with the given options, using the built plugins of
// vendors. It fails the test only on setup problems; the flow's own error
// is returned.
func Run(t testing.TB, flow string, opts engine.Options, vendors ...string) (*engine.Result, error) {
	t.Helper()
	opts.PluginDirs = append([]string{Plugins(t, vendors...)}, opts.PluginDirs...)
	if opts.Getenv == nil {
		opts.Getenv = func(string) (string, bool) { return "", false }
	}
	return engine.Run(context.Background(), flow, opts)
}

// Main runs a test package's tests and removes the plugin binaries built
// for them: func TestMain(m *testing.M) { flowtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// Outputs returns a run's outputs by name.
func Outputs(res *engine.Result) map[string]any {
	out := map[string]any{}
	if res == nil {
		return out
	}
	for _, o := range res.Outputs {
		out[o.Name] = o.Value
	}
	return out
}

// ServeTLS serves h over HTTPS on loopback with a fresh CA, for the test's
// lifetime, and returns the server and the CA file to pass as ca_file.
func ServeTLS(t testing.TB, h http.Handler) (*simkit.Server, string) {
	t.Helper()
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(h, simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, caFile
}
