package scaffold

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// example is the worked example: a Grafana-like service-account API (create account, issue,
// list and delete tokens) made from `tokenflow plugin new grafana`, kept as an out-of-tree
// module would be.
const example = "testdata/grafana"

// maxExampleLines is the budget of issue 14: adding a 4-op token API through the scaffold
// takes this many hand-written lines of Go or fewer, plugin and simulator together.
const maxExampleLines = 150

// exampleLines counts every line (blank and comment lines too) of the module's Go files that
// are neither tests nor generated: main.go, plugin/ and sim/.
func exampleLines(t *testing.T) (total, nonBlank int, files map[string]int) {
	t.Helper()
	files = map[string]int{}
	err := filepath.WalkDir(example, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "// Code generated ") {
				t.Fatalf("%s is generated: it should not be in the example", p)
			}
			files[p]++
			total++
			if strings.TrimSpace(sc.Text()) != "" {
				nonBlank++
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return total, nonBlank, files
}

// Prints the count: go test -run TestExampleLineCount -v ./internal/scaffold/
func TestExampleLineCount(t *testing.T) {
	total, nonBlank, files := exampleLines(t)
	for _, want := range []string{"main.go", "plugin/plugin.go", "sim/sim.go"} {
		if files[filepath.Join(example, want)] == 0 {
			t.Fatalf("the example lacks %s (counted %v)", want, files)
		}
	}
	for p, n := range files {
		t.Logf("%4d %s", n, p)
	}
	t.Logf("%4d lines of plugin and simulator Go (%d non-blank), budget %d", total, nonBlank, maxExampleLines)
	if total > maxExampleLines {
		t.Errorf("the example takes %d lines, over the budget of %d", total, maxExampleLines)
	}
}

// The worked example passes its own tests as its author runs them (go test ./... in the
// module): its four ops against its simulator, sdktest.Conformance, and its onboard and
// offboard flows through the engine in dry-run and apply, recorded and replayed.
func TestExamplePassesItsTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	dir := filepath.Join(t.TempDir(), "grafana")
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	root := repoRoot()
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod = []byte(strings.Replace(string(mod), "=> ../../../..", "=> "+root, 1))
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	out := goCmd(t, dir, "test", "-count=1", "-v", "./...")
	for _, want := range []string{"--- PASS: TestOps", "--- PASS: TestConformance", "--- PASS: TestFlows", "--- PASS: TestFlowsRecordReplay"} {
		if !strings.Contains(out, want) {
			t.Errorf("go test output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--- FAIL") || strings.Contains(out, "--- SKIP") {
		t.Errorf("the example's tests did not all pass:\n%s", out)
	}
}
