package distributed_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestBinariesLinkNoServer: the CLI links only Temporal's client SDK, never
// its server nor the throwaway PostgreSQL (tests and tokenflow-devcluster
// only), and plugin binaries link nothing of Temporal.
func TestBinariesLinkNoServer(t *testing.T) {
	for pkg, banned := range map[string][]string{
		"./cmd/tokenflow": {"go.temporal.io/server", "github.com/tokenflow/tokenflow/internal/pgtest"},
		"./plugins/vcf":   {"go.temporal.io/", "github.com/tokenflow/tokenflow/internal/pgtest"},
	} {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = flowtest.RepoRoot()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		if !strings.Contains(string(out), "github.com/tokenflow/tokenflow/") {
			t.Fatalf("go list -deps %s listed no package of this module: %s", pkg, out)
		}
		reported := map[string]bool{}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) && !reported[b] {
					t.Errorf("%s links %s", pkg, dep)
					reported[b] = true
				}
			}
		}
	}
}
