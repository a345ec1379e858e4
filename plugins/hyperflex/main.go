// Command tokenflow-plugin-hyperflex is the tokenflow plugin for the Cisco HyperFlex AAA token
// API and the token files of the hx-api-token-manager tool. The engine launches it; run by
// hand it explains that it is a plugin.
package main

import (
	"github.com/tokenflow/tokenflow/plugins/hyperflex/ops"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func main() { sdk.Serve(ops.Plugin(), sdk.WithSimulator(sim.Registration()), sdk.WithRuntimeTuning()) }
