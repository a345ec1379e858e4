// Command tokenflow-plugin-vigiles is the tokenflow plugin for Timesys
// Vigiles / LinuxLink, whose API signs every request with HMAC-SHA256. The
// engine launches it; run by hand it explains that it is a plugin.
package main

import (
	"github.com/tokenflow/tokenflow/plugins/vigiles/ops"
	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func main() { sdk.Serve(ops.Plugin(), sdk.WithSimulator(sim.Registration()), sdk.WithRuntimeTuning()) }
