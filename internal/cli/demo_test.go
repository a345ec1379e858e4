package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/simulators"
)

// TestDemo runs `tokenflow demo` as `make demo` does, so the product's front
// door cannot break unseen: every vendor's scenario, then the fleet driven
// through the CLI (whose steps fail the demo on an unexpected exit code or a
// write where none may happen).
func TestDemo(t *testing.T) {
	dir := flowtest.Plugins(t, simulators.Vendors()...)
	io, out, errOut := cli.TestStreams()
	code := cli.Run(context.Background(), []string{
		"--plugin-dir", dir, "demo", "--flows", filepath.Join(flowtest.RepoRoot(), "flows"),
	}, io)
	if code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, tail(out.String()), tail(errOut.String()))
	}
	for _, want := range []string{
		"═══ vcf ═══", "═══ bigip ═══", "═══ fleet ═══",
		"20 target(s)", "20 ok.", "Nothing is due", "Demo complete.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The converging second apply and the plan after it sent nothing.
	if n := strings.Count(out.String(), "(the simulators received 0 write request(s))"); n < 5 {
		t.Errorf("only %d fleet steps sent no write; the second apply, the plans and the listings must not write", n)
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}
