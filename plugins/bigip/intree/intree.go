// Package intree adds the bigip simulator and demo scenario to tokenflow's
// in-tree lists when imported: internal/intree imports it, so adding a vendor
// touches only its own folder and one line there.
package intree

import (
	"github.com/tokenflow/tokenflow/internal/demo"
	"github.com/tokenflow/tokenflow/internal/simulators"
	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
)

func init() {
	simulators.Register(sim.Registration())
	demo.Register(scenario)
}
