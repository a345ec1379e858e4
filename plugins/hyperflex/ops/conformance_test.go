package ops_test

import (
	"testing"

	"github.com/tokenflow/tokenflow/plugins/hyperflex/ops"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, ops.Plugin(), sim.Registration())
}
