package cli

import (
	"github.com/spf13/cobra"
)

// DemoOptions are the inputs of `tokenflow demo`.
type DemoOptions struct {
	IO       *IOStreams
	Factory  *Factory
	FlowsDir string
	Vendors  []string
}

// NewCmdDemo builds `tokenflow demo`.
func NewCmdDemo(f *Factory, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "demo [VENDOR...]",
		Short: "Run the shipped flows against in-process simulators",
		Long: `Start every vendor simulator in-process (HTTPS with a generated CA), show
the dry-run plan of onboarding, apply it, advance the simulators' clock,
rotate, and print a summary. Needs the plugin binaries (make build).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Vendors = args
			if runF != nil {
				return runF(opts)
			}
			return demoRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.FlowsDir, "flows", "flows", "directory holding the shipped flows")
	return cmd
}
