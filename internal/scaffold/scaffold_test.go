package scaffold

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// goCmd runs go in dir; -mod=mod lets the first build add the requirements the
// checkout's go.mod implies, as `go mod tidy` would, from the module cache.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in the scaffolded module: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The scaffold builds and passes its own tests (its ops against its simulator,
// its flows through the engine in dry-run, apply, record and replay) at once, and its binary
// serves its simulator.
func TestScaffoldBuildsAndPassesItsTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	dir := filepath.Join(t.TempDir(), "acme")
	written, err := Write(dir, Options{Name: "acme", Replace: repoRoot()})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"go.mod", "main.go", "plugin/plugin.go", "plugin/plugin_test.go", "sim/sim.go",
		"flows/acme/onboard.star", "flows/acme/rotate.star", "flows/acme/offboard.star", "flows_test.go", "Makefile", "README.md", "go.sum"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("the scaffold lacks %s (wrote %v)", want, written)
		}
	}
	goCmd(t, dir, "build", "-o", "bin/tokenflow-plugin-acme", ".")
	out := goCmd(t, dir, "test", "-count=1", "-v", "./...")
	for _, want := range []string{"--- PASS: TestOps", "--- PASS: TestConformance", "--- PASS: TestFlows", "--- PASS: TestFlowsRecordReplay"} {
		if !strings.Contains(out, want) {
			t.Errorf("go test output lacks %q:\n%s", want, out)
		}
	}

	sim := exec.Command(filepath.Join(dir, "bin", "tokenflow-plugin-acme"), "--simulate", "--json", "--plain-http", "--dir", t.TempDir())
	stdout, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sim.Process.Kill(); _ = sim.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var info struct{ Vendor, URL, Password, Password_Env string }
	if err != nil || json.Unmarshal([]byte(line), &info) != nil || info.Vendor != "acme" || !strings.HasPrefix(info.URL, "http://127.0.0.1:") {
		t.Fatalf("--simulate printed %q (%v)", line, err)
	}
	resp, err := http.Get(info.URL + "/api/tokens")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the simulator answered %d without the API key, want 401", resp.StatusCode)
	}
}

func TestScaffoldRefusals(t *testing.T) {
	if _, err := Write(t.TempDir(), Options{Name: "Acme-1"}); err == nil || !strings.Contains(err.Error(), "lower-case letters and digits") {
		t.Errorf("a bad name: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, Options{Name: "acme"}); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("a non-empty directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.txt")); string(b) != "mine" {
		t.Error("the refusal touched the directory's file")
	}
}
