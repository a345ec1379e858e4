package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestDescribeSaysWhichOpsTheEngineSends: a plugin author can see that an
// op is a declared read (and which GET), and that a handler op is not.
func TestDescribeSaysWhichOpsTheEngineSends(t *testing.T) {
	dir := flowtest.Plugins(t, "vcf")
	describe := func(op string) string {
		t.Helper()
		io, out, errOut := cli.TestStreams()
		if code := cli.Run(context.Background(), []string{"--plugin-dir", dir, "plugins", "describe", op}, io); code != 0 {
			t.Fatalf("plugins describe %s exited %d: %s", op, code, errOut)
		}
		return out.String()
	}
	if got := describe("vcf.version"); !strings.Contains(got, "declared read: GET /suite-api/api/versions/current") {
		t.Errorf("vcf.version:\n%s", got)
	}
	if got := describe("vcf.get_token"); strings.Contains(got, "declared read") {
		t.Errorf("vcf.get_token is a handler:\n%s", got)
	}
}
