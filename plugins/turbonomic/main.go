// Command tokenflow-plugin-turbonomic is the tokenflow plugin for the Turbonomic REST API
// (/api/v3, as vmt-connect uses it). The engine launches it; run by hand it explains that it
// is a plugin.
package main

import (
	"github.com/tokenflow/tokenflow/plugins/turbonomic/ops"
	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func main() { sdk.Serve(ops.Plugin(), sdk.WithSimulator(sim.Registration()), sdk.WithRuntimeTuning()) }
