package sdktest

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// NewBinary starts the plugin binary at path the way a run does: through
// the engine's plugin manager (handshake, mutual TLS, Describe, the host
// service on the broker), so a plugin in any language can be tested. The
// file must be named tokenflow-plugin-<vendor>. Requests go to rt once the
// engine's host transport has let them through, as with New.
func NewBinary(t testing.TB, path string, rt http.RoundTripper) *Harness {
	t.Helper()
	base := filepath.Base(path)
	vendor, ok := strings.CutPrefix(base, pb.BinaryPrefix)
	if !ok || vendor == "" {
		t.Fatalf("plugin binary %s: the file must be named %s<vendor>, as the engine looks it up", path, pb.BinaryPrefix)
	}
	h := newHarness(t, rt)
	m := pluginmgr.New(pluginmgr.Config{Dirs: []string{filepath.Dir(path)}, Host: &host{h: h}})
	t.Cleanup(m.Close)
	p, err := m.Get(context.Background(), vendor)
	if err != nil {
		t.Fatalf("start plugin binary %s: %v", path, err)
	}
	if got := m.Path(vendor); got != "" && filepath.Clean(got) != filepath.Clean(path) {
		t.Fatalf("the plugin manager launched %s, not %s", got, path)
	}
	h.plugin, h.schema = p, p.Schema()
	return h
}

// ConformanceBinary runs Conformance's checks against a plugin binary
// started through the engine's plugin manager (see NewBinary), for plugins
// not written with the Go SDK. The schema check works on what the binary
// declares in Describe.
func ConformanceBinary(t *testing.T, path string, reg simkit.Registration, samples ...Samples) {
	t.Helper()
	conformance(t, func(t testing.TB, rt http.RoundTripper) *Harness { return NewBinary(t, path, rt) }, reg, samples)
}
