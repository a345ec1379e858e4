package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestTemporalFleetRefusesLocalScheduling: --parallel, --max-failures and
// --fail-fast schedule a local fleet; with --temporal they would be
// silently ignored, so they are refused before anything is submitted.
func TestTemporalFleetRefusesLocalScheduling(t *testing.T) {
	for _, flag := range [][]string{{"--parallel", "4"}, {"--max-failures", "2"}, {"--fail-fast"}} {
		io, _, errOut := cli.TestStreams()
		args := append([]string{"run", "flows/vcf/onboard.star", "--no-state", "--targets", "inventory.yaml", "--temporal", "127.0.0.1:1"}, flag...)
		code := cli.Run(context.Background(), args, io)
		if code == 0 || !strings.Contains(errOut.String(), flag[0]+" schedules a local fleet run") {
			t.Errorf("%v: exit %d, stderr %q: want the flag refused", flag, code, errOut)
		}
	}
}

// A target with an inventory proxy is refused with --temporal (the workers
// use their own HTTPS_PROXY), before anything is submitted.
func TestTemporalFleetRefusesInventoryProxies(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(inv, []byte("targets:\n  vcf-1: {vendor: vcf, url: https://vcf-1.example, proxy: http://proxy.example:3128}\n"), 0o600)
	io, _, errOut := cli.TestStreams()
	code := cli.Run(context.Background(), []string{"run", filepath.Join(flowtest.RepoRoot(), "flows/vcf/onboard.star"), "--no-state",
		"--plugin-dir", flowtest.Plugins(t, "vcf"), "--targets", inv, "--temporal", "127.0.0.1:1"}, io)
	if code != 1 || !strings.Contains(errOut.String(), "target vcf-1 ("+inv+":2) names a proxy: with --temporal the workers reach vendors through their own HTTPS_PROXY") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
