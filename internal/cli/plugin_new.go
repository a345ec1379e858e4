package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/scaffold"
)

// NewCmdPlugin builds `tokenflow plugin`, for plugin authors.
func NewCmdPlugin(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Tools for plugin authors (plugin new)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCmdPluginNew(f))
	return cmd
}

func newCmdPluginNew(f *Factory) *cobra.Command {
	var dir string
	var o scaffold.Options
	cmd := &cobra.Command{
		Use:   "new NAME [--dir DIR]",
		Short: "Write a new out-of-tree plugin module that builds and passes its tests",
		Long: `Write a Go module for a new vendor plugin into DIR (default ./tokenflow-plugin-NAME,
which must not exist or be empty): the plugin with a read op and two write ops, its
simulator (served by the binary's --simulate, so 'tokenflow sim NAME' finds it),
onboard/rotate/offboard flows, tests of the ops and of the flows through the engine,
a Makefile and a README. Then: cd DIR && go mod tidy && make test.`,
		Example: `  tokenflow plugin new acme
  tokenflow plugin new acme --dir ~/src/acme --module github.com/you/tokenflow-plugin-acme`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if dir == "" {
				dir = "tokenflow-plugin-" + o.Name
			}
			written, err := scaffold.Write(dir, o)
			if err != nil {
				return err
			}
			out := f.IO.Out
			fmt.Fprintf(out, "Wrote the %s plugin in %s:\n", o.Name, dir)
			for _, w := range written {
				fmt.Fprintf(out, "  %s\n", w)
			}
			fmt.Fprintf(out, "\nNext:\n  cd %s && go mod tidy && make test\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the module into (default ./tokenflow-plugin-NAME)")
	cmd.Flags().StringVar(&o.Module, "module", "", "Go module path (default example.com/tokenflow-plugin-NAME)")
	cmd.Flags().StringVar(&o.SDKVersion, "sdk-version", "", "tokenflow version to require (default v0.0.0, with --replace)")
	cmd.Flags().StringVar(&o.Replace, "replace", "", "build against this tokenflow checkout (a replace directive)")
	return cmd
}
