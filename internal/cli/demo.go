package cli

import (
	"github.com/spf13/cobra"
)

// DemoOptions are the inputs of `tokenflow demo`.
type DemoOptions struct {
	IO       *IOStreams
	Factory  *Factory
	FlowsDir string
}

// NewCmdDemo builds `tokenflow demo`.
func NewCmdDemo(f *Factory, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the shipped flows against in-process simulators",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return demoRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.FlowsDir, "flows", "flows", "directory holding the shipped flows")
	return cmd
}
