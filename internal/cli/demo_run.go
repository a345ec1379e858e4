package cli

import "github.com/spf13/cobra"

func demoRun(cmd *cobra.Command, opts *DemoOptions) error { return nil }
