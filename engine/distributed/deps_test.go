package distributed_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestBinariesLinkNoServer: the CLI links only Temporal's client SDK, never
// its server (tests only), and plugin binaries link nothing of Temporal.
func TestBinariesLinkNoServer(t *testing.T) {
	for pkg, banned := range map[string]string{
		"./cmd/tokenflow": "go.temporal.io/server",
		"./plugins/vcf":   "go.temporal.io/",
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
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("%s links %s", pkg, dep)
				break
			}
		}
	}
}
