// Command tokenflow-plugin-vcf is the tokenflow plugin for the VMware VCF
// 9.1 Operations IAM API. The engine launches it; run by hand it explains
// that it is a plugin.
package main

import (
	"github.com/tokenflow/tokenflow/plugins/vcf/ops"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func main() { sdk.Serve(ops.Plugin(), sdk.WithSimulator(sim.Registration()), sdk.WithRuntimeTuning()) }
