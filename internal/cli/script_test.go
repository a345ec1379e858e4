package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/simulators"
)

func TestMain(m *testing.M) {
	code := testscript.RunMain(m, map[string]func() int{"tokenflow": cli.Main})
	flowtest.Cleanup()
	os.Exit(code)
}

// TestScripts runs testdata/*.txtar: the CLI end to end, as a user types
// it. `sim-start VENDOR...` starts simulators in the test process and sets
// $<VENDOR>_URL and $CA_FILE; $FLOWS is the shipped flows directory.
func TestScripts(t *testing.T) {
	pluginDir := flowtest.Plugins(t, "vcf")
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("TOKENFLOW_PLUGIN_DIR", pluginDir)
			env.Setenv("TOKENFLOW_STATE_DIR", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("FLOWS", filepath.Join(flowtest.RepoRoot(), "flows"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sim-start": func(ts *testscript.TestScript, neg bool, args []string) {
				set, err := simulators.Start(args, true, ts.MkAbs("sim"), nil)
				ts.Check(err)
				ts.Defer(set.Close)
				ts.Setenv("CA_FILE", set.CAFile)
				for _, r := range set.Sims {
					ts.Setenv(upper(r.Vendor)+"_URL", r.Server.URL)
				}
			},
		},
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
