package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/demo"
)

func demoRun(cmd *cobra.Command, opts *DemoOptions) error {
	f := opts.Factory
	flows := opts.FlowsDir
	if _, err := os.Stat(flows); err != nil && !filepath.IsAbs(flows) {
		// Installed layout: bin/tokenflow beside flows/.
		if exe, err := f.Executable(); err == nil {
			alt := filepath.Join(filepath.Dir(filepath.Dir(exe)), flows)
			if _, err := os.Stat(alt); err == nil {
				flows = alt
			}
		}
	}
	return demo.Run(cmd.Context(), demo.Options{
		Out: f.IO.Out, FlowsDir: flows, PluginDirs: f.PluginSearchDirs(), Vendors: opts.Vendors,
		Logger: f.Logger(), Redactor: f.Redactor, Log: f.IO.ErrOut,
		CLI: func(ctx context.Context, env map[string]string, flowsDir string, args ...string) int {
			return demoCLI(ctx, f, env, flowsDir, args)
		},
	})
}

// demoCLI runs one tokenflow command for the demo, in-process, as an
// operator would type it: same streams and redactor, the demo's simulator
// credentials overlaid on the environment, flow paths resolved against the
// flows directory.
func demoCLI(ctx context.Context, parent *Factory, env map[string]string, flowsDir string, args []string) int {
	f := newFactory(parent.IO)
	f.Redactor = parent.Redactor
	f.Executable = parent.Executable
	f.Getenv = func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return parent.Getenv(k)
	}
	for _, v := range env {
		f.Redactor.Add(v)
	}
	defer f.Close()
	// Global flags are parsed again by the new command tree: pass them on.
	abs := []string{"--log-level", parent.LogLevel}
	for _, d := range parent.PluginDirs {
		abs = append(abs, "--plugin-dir", d)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "flows/") {
			a = filepath.Join(flowsDir, strings.TrimPrefix(a, "flows/"))
		}
		abs = append(abs, a)
	}
	return execute(ctx, f, abs)
}
