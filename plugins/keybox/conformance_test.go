package keybox_test

import (
	"path/filepath"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/keybox/sim"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// The Python plugin passes the same conformance checks as the Go plugins,
// launched the way a run launches it: through the engine's plugin manager.
func TestConformance(t *testing.T) {
	bin := filepath.Join(pluginDir(t), "tokenflow-plugin-keybox")
	reg := simkit.Registration{Vendor: "keybox", New: func(c *simkit.Clock) simkit.Simulator { return sim.New(c) }}
	sdktest.ConformanceBinary(t, bin, reg, sdktest.Samples{Conn: map[string]any{"api_key": sim.APIKey}})
}
