package cli_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// On a terminal an apply prints a line per op as it finishes; without one
// (or with --json) the output is unchanged.
func TestApplyPrintsStepsOnTerminal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }))
	defer srv.Close()
	kit := filepath.Dir(flowtest.Binary(t, "./internal/testkit", "tokenflow-plugin-testkit"))
	flow := filepath.Join(t.TempDir(), "flow.star")
	os.WriteFile(flow, []byte("k = connect(\"testkit\", url = \""+srv.URL+"\")\nk.echo(text = \"a\")\nk.fetch(url = \""+srv.URL+"/x\")\n"), 0o644)
	run := func(tty bool, extra ...string) string {
		t.Helper()
		streams, out, errOut := cli.TestStreams()
		streams.OutTTY = tty
		args := append([]string{"--no-state", "--plugin-dir", kit, "run", "--allow-http", flow}, extra...)
		if code := cli.Run(context.Background(), args, streams); code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		return out.String()
	}
	out := run(true)
	if !regexp.MustCompile(`(?m)^  ok +testkit\.echo  \([0-9.]+m?s\)\n  ok +testkit\.fetch  \(`).MatchString(out) {
		t.Errorf("terminal output lacks a line per step:\n%s", out)
	}
	for _, o := range []string{run(false), run(true, "--json"), run(true, "--dry-run")} {
		if strings.Contains(o, "  ok ") {
			t.Errorf("step lines without a terminal apply:\n%s", o)
		}
	}
}
