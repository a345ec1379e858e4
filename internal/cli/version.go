package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// NewCmdVersion prints the version.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tokenflow's version and plugin protocol",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(f.IO.Out, "tokenflow %s, plugin protocol %d\n", versionString(), pb.ProtocolVersion)
			return nil
		},
	}
}

// versionString is the version and, when the build knows it, the commit.
func versionString() string {
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	return Version + rev
}
