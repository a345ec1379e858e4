package plugin_test

import (
	"strings"
	"testing"

	"example.com/tokenflow-plugin-grafana/plugin"
	"example.com/tokenflow-plugin-grafana/sim"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// The four ops in-process, over the real gRPC contract, against the simulator.
func TestOps(t *testing.T) {
	s := sim.New(simkit.NewRealClock(), sim.APIKey)
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn := map[string]any{"url": srv.URL, "api_key": sim.APIKey}
	h := sdktest.New(t, plugin.Plugin(), srv.Client().Transport)

	sa, err := h.Call("create_service_account", conn, map[string]any{"name": "ci"})
	if err != nil || sa["id"] != int64(1) || sa["login"] != "sa-ci" {
		t.Fatalf("create_service_account = %v, %v", sa, err)
	}
	if _, err := h.Call("create_service_account", conn, map[string]any{"name": "ci"}); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("a second account of the same name: %v, want a 409 conflict", err)
	}
	tok, err := h.Call("issue_token", conn, map[string]any{"service_account_id": 1, "name": "ci-1", "seconds_to_live": 3600})
	if key, _ := tok["key"].(string); err != nil || tok["id"] != int64(1) || len(key) < 20 {
		t.Fatalf("issue_token = %v, %v", tok, err)
	}
	if got := s.Tokens.List(nil); len(got) != 1 || got[0].SecondsToLive != 3600 || got[0].Key != "" {
		t.Fatalf("the simulator holds %+v: want one token, its lifetime as secondsToLive, its key not kept", got)
	}
	list, err := h.Call("list_tokens", conn, map[string]any{"service_account_id": 1})
	tokens, _ := list["tokens"].([]any)
	if err != nil || len(tokens) != 1 || tokens[0].(map[string]any)["name"] != "ci-1" || tokens[0].(map[string]any)["key"] != nil {
		t.Fatalf("list_tokens = %v, %v: want the one token, without its key", list, err)
	}
	for _, want := range []bool{true, false} { // a second delete finds nothing: not an error
		out, err := h.Call("delete_token", conn, map[string]any{"service_account_id": 1, "token_id": 1})
		if err != nil || out["deleted"] != want {
			t.Fatalf("delete_token = %v, %v; want deleted=%v", out, err, want)
		}
	}
	if _, err := h.Call("issue_token", conn, map[string]any{"service_account_id": 9, "name": "x"}); err == nil || !strings.Contains(err.Error(), "no such service account 9") {
		t.Fatalf("a token for a missing account: %v", err)
	}
	if _, err := h.Call("list_tokens", map[string]any{"url": srv.URL, "api_key": "wrong"}, map[string]any{"service_account_id": 1}); err == nil {
		t.Fatal("a wrong API key was accepted")
	}
}

// What every plugin must honour (schema, dry-run, secrets, typed errors), against a fresh simulator.
func TestConformance(t *testing.T) {
	sdktest.Conformance(t, plugin.Plugin(), sim.Registration(), sdktest.Samples{Conn: map[string]any{"api_key": sim.APIKey}})
}
