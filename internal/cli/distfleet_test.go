package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
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
