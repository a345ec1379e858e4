// Command tokenflow-plugin-grafana is the tokenflow plugin for grafana. The engine launches
// it; `tokenflow-plugin-grafana --simulate` serves its simulator instead, which is how
// `tokenflow sim grafana` finds it.
package main

import (
	"example.com/tokenflow-plugin-grafana/plugin"
	"example.com/tokenflow-plugin-grafana/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func main() { sdk.Serve(plugin.Plugin(), sdk.WithSimulator(sim.Registration())) }
