package cli

import (
	"os"
	"path/filepath"

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
	})
}
