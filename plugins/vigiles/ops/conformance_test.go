package ops_test

import (
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops"
	"github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, ops.Plugin(), sim.Registration(), sdktest.Samples{
		// Vigiles calls the ids of products, folders, manifests and
		// reports "tokens"; they grant nothing.
		NotSecret: []string{"token", "product_token", "folder_token", "manifest_token", "report_token"},
	})
}
