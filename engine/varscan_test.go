package engine_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, src := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestScanVarsFollowsLoads(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"flows/x/flow.star":     "load(\"helper.star\", \"h\")\nload(\"common.star\", \"c\")\nr = var(\"role\", default = \"viewer\")\nn = var(name = \"realm\")\n",
		"flows/x/helper.star":   "def h():\n    connect(\"acme\", url = var(\"url\"))\n    connect(\"ac\" + \"me2\")\n    return var(\"client_id\")\n",
		"flows/lib/common.star": "def c():\n    return var(\"token_name\", default = \"t\")\n",
	})
	fv, err := engine.ScanVars(filepath.Join(root, "flows/x/flow.star"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fv.Vendors, []string{"acme"}) {
		t.Errorf("Vendors = %v, want [acme] (a computed vendor is not named)", fv.Vendors)
	}
	want := []string{"client_id", "realm", "role", "token_name", "url"}
	if !reflect.DeepEqual(fv.Names, want) || fv.Dynamic != "" {
		t.Fatalf("ScanVars = %v (dynamic %q), want %v", fv.Names, fv.Dynamic, want)
	}
	err = fv.Unknown([]string{"rol", "realm", "url"})
	wantErr(t, err, "--var rol (did you mean role?)", "client_id, realm, role, token_name", "nothing was sent")
	if strings.Contains(err.Error(), "realm (did") || strings.Contains(err.Error(), "--var url") {
		t.Errorf("known vars reported: %v", err)
	}
	if err := fv.Unknown([]string{"role", "url"}); err != nil {
		t.Errorf("known vars refused: %v", err)
	}
}

// A var read by a computed name cannot be checked: the scan says where.
func TestScanVarsDynamicNameSkipsCheck(t *testing.T) {
	root := writeFiles(t, map[string]string{"f.star": "k = \"role\"\nr = var(k)\n"})
	fv, err := engine.ScanVars(filepath.Join(root, "f.star"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(fv.Dynamic, "f.star:2:5") {
		t.Errorf("Dynamic = %q, want f.star:2:5", fv.Dynamic)
	}
	if err := fv.Unknown([]string{"anything"}); err != nil {
		t.Errorf("dynamic flow checked: %v", err)
	}
}

// Every shipped flow reads its vars by literal names, so every one is
// checked.
func TestScanVarsShippedFlows(t *testing.T) {
	flows, _ := filepath.Glob(filepath.Join(flowtest.RepoRoot(), "flows", "*", "*.star"))
	if len(flows) == 0 {
		t.Fatal("no shipped flows found")
	}
	for _, f := range flows {
		fv, err := engine.ScanVars(f, "")
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if fv.Dynamic != "" {
			t.Errorf("%s: var() with a computed name at %s", f, fv.Dynamic)
		}
	}
	fv, err := engine.ScanVars(filepath.Join(flowtest.RepoRoot(), "flows/vcf/onboard.star"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fv.Vendors, []string{"vcf"}) {
		t.Errorf("vcf/onboard.star vendors %v, want [vcf] (connect() is in lib/vcf.star)", fv.Vendors)
	}
	for _, n := range []string{"role", "realm", "url"} {
		if !slices.Contains(fv.Names, n) {
			t.Errorf("vcf/onboard.star vars %v lack %q", fv.Names, n)
		}
	}
}
