package dist

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// make demo-dist's script, on fewer targets: the one-machine tour of the
// distributed mode (dev cluster, two workers, one SIGKILLed mid-write,
// every target with one token, a second submission changing nothing)
// must not break unseen.
func TestDemoDist(t *testing.T) {
	dir := flowtest.Plugins(t, "vcf")
	flowtest.Binary(t, "./cmd/tokenflow", "tokenflow")
	flowtest.Binary(t, "./cmd/tokenflow-devcluster", "tokenflow-devcluster")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "scripts/demo-dist.sh")
	cmd.Dir = flowtest.RepoRoot()
	cmd.Env = append(os.Environ(), "BIN="+dir, "DEMO_DIST_TARGETS=6")
	// On timeout the script is asked to stop, so its trap stops the dev
	// cluster, the workers and the simulators it started.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo-dist: %v\n%s", err, out)
	}
	for _, want := range []string{
		"SIGKILLed worker A", "Fleet run: 6 target(s)", "6 ok.", `"counts":{"ok":6}`,
		"demo-dist: 6 targets onboarded by two workers, one killed mid-write; every target has one token.",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo-dist output lacks %q\n%s", want, out)
		}
	}
}
