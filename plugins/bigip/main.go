// Command tokenflow-plugin-bigip is the tokenflow plugin for F5 BIG-IP
// iControl REST auth tokens. The engine launches it; run by hand it explains
// that it is a plugin.
package main

import (
	"github.com/tokenflow/tokenflow/plugins/bigip/ops"
	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func main() { sdk.Serve(ops.Plugin(), sdk.WithSimulator(sim.Registration()), sdk.WithRuntimeTuning()) }
