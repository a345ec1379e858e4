// Package intree is the one list of in-tree vendors. Importing it registers
// each vendor's simulator (internal/simulators) and demo scenario
// (internal/demo) from the vendor's own folder, plugins/<vendor>/intree.
//
// Adding an in-tree vendor: write plugins/<vendor>/ (the plugin, sim with its
// Registration, intree with its scenario) and add one line here.
package intree

import (
	_ "github.com/tokenflow/tokenflow/plugins/bigip/intree"
	_ "github.com/tokenflow/tokenflow/plugins/hyperflex/intree"
	_ "github.com/tokenflow/tokenflow/plugins/turbonomic/intree"
	_ "github.com/tokenflow/tokenflow/plugins/vcf/intree"
	_ "github.com/tokenflow/tokenflow/plugins/vigiles/intree"
)
