package ops_test

import (
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vcf/ops"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, ops.Plugin(), sim.Registration())
}
