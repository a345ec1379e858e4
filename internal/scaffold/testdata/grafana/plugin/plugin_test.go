package plugin_test

import (
	"testing"

	"example.com/tokenflow-plugin-grafana/plugin"
	"example.com/tokenflow-plugin-grafana/sim"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// The ops in-process, over the real gRPC contract, against the simulator.
func TestOps(t *testing.T) {
	s := sim.New(simkit.NewRealClock(), sim.APIKey)
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn := map[string]any{"url": srv.URL, "api_key": sim.APIKey}
	h := sdktest.New(t, plugin.Plugin(), srv.Client().Transport)

	made, err := h.Call("create_token", conn, map[string]any{"name": "ci"})
	if err != nil || made["id"] == "" || made["token"] == "" {
		t.Fatalf("create_token = %v, %v", made, err)
	}
	found, err := h.Call("find_token", conn, map[string]any{"name": "ci"})
	if ids, _ := found["ids"].([]any); err != nil || found["found"] != true || len(ids) != 1 || ids[0] != made["id"] {
		t.Fatalf("find_token = %v, %v; want the id %v", found, err, made["id"])
	}
	for _, want := range []bool{true, false} { // a second delete finds nothing: not an error
		out, err := h.Call("delete_token", conn, map[string]any{"id": made["id"]})
		if err != nil || out["deleted"] != want {
			t.Fatalf("delete_token = %v, %v; want deleted=%v", out, err, want)
		}
	}
	if _, err := h.Call("find_token", map[string]any{"url": srv.URL, "api_key": "wrong"}, map[string]any{"name": "ci"}); err == nil {
		t.Fatal("a wrong API key was accepted")
	}
}

// What every plugin must honour (schema, dry-run, secrets, typed errors), against a fresh simulator.
func TestConformance(t *testing.T) {
	sdktest.Conformance(t, plugin.Plugin(), sim.Registration(), sdktest.Samples{Conn: map[string]any{"api_key": sim.APIKey}})
}
