package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/tokenflow-plugin-grafana/sim"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// flowEnv is the plugin's binary and a simulator over TLS, for runs through the real engine.
type flowEnv struct {
	bin, caFile string
	sim         *sim.Sim
	srv         *simkit.Server
	store       *store.Memory
}

func newFlowEnv(t *testing.T) *flowEnv {
	t.Helper()
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "tokenflow-plugin-grafana"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build the plugin: %v\n%s", err, out)
	}
	clock := simkit.NewRealClock()
	s := sim.New(clock, sim.APIKey)
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	return &flowEnv{bin: bin, caFile: caFile, sim: s, srv: srv, store: store.NewMemory(clock.Now)}
}

// run runs a flow with the API key in GRAFANA_API_KEY; mod adjusts the options (dry-run,
// record, replay).
func (e *flowEnv) run(flow, apiKey string, mod func(*engine.Options)) (*engine.Result, error) {
	opts := engine.Options{
		PluginDirs: []string{e.bin}, Store: e.store,
		Vars: map[string]string{"url": e.srv.URL, "ca_file": e.caFile, "name": "ci-bot"},
		Getenv: func(k string) (string, bool) {
			if k == "GRAFANA_API_KEY" {
				return apiKey, true
			}
			return "", false
		},
	}
	if mod != nil {
		mod(&opts)
	}
	return engine.Run(context.Background(), filepath.Join("flows", "grafana", flow), opts)
}

// The flows through the real engine and this plugin's binary, against the simulator over
// TLS: onboard in dry-run (no write reaches the vendor) and apply, a rerun that converges,
// and offboard.
func TestFlows(t *testing.T) {
	e := newFlowEnv(t)
	s := e.sim
	run := func(flow string, dry bool) *engine.Result {
		t.Helper()
		res, err := e.run(flow, sim.APIKey, func(o *engine.Options) { o.DryRun = dry })
		if err != nil {
			t.Fatalf("%s (dry-run %v): %v", flow, dry, err)
		}
		return res
	}
	if res := run("onboard.star", true); res.Pending() == 0 || s.Recorder().Writes() != 0 {
		t.Fatalf("dry-run: %d pending, %d writes sent; want changes held and none sent", res.Pending(), s.Recorder().Writes())
	}
	run("onboard.star", false)
	accounts, tokens := s.Accounts.List(nil), s.Tokens.List(nil)
	if len(accounts) != 1 || accounts[0].Name != "ci-bot" || len(tokens) != 1 || tokens[0].Account != accounts[0].ID {
		t.Fatalf("after onboard the API holds accounts %+v, tokens %+v", accounts, tokens)
	}
	stored, err := e.store.Get(context.Background(), e.srv.URL, "ci-bot")
	if err != nil || !strings.HasPrefix(stored.Value, "glsa_") {
		t.Fatalf("the store holds %v (%v), want the issued key", stored, err)
	}
	writes := s.Recorder().Writes()
	run("onboard.star", false)
	if s.Recorder().Writes() != writes {
		t.Fatal("a rerun of onboard wrote again: it must find the stored token")
	}
	if res := run("offboard.star", false); outputs(res)["deleted"] != int64(1) || s.Tokens.Len() != 0 {
		t.Fatalf("offboard: outputs %v, %d tokens left; want the one token deleted", outputs(res), s.Tokens.Len())
	}
	if res := run("offboard.star", false); outputs(res)["deleted"] != int64(0) {
		t.Fatalf("a second offboard: outputs %v, want nothing to delete", outputs(res))
	}
}

// Onboard recorded to a cassette against the simulator, then replayed with the simulator
// gone: the replay answers from the cassette alone, gives the same outputs, and needs no
// real API key (the cassette holds none).
func TestFlowsRecordReplay(t *testing.T) {
	e := newFlowEnv(t)
	cassette := filepath.Join(t.TempDir(), "onboard.yaml")
	recorded, err := e.run("onboard.star", sim.APIKey, func(o *engine.Options) { o.Record = cassette })
	if err != nil {
		t.Fatalf("record onboard: %v", err)
	}
	data, err := os.ReadFile(cassette)
	if err != nil {
		t.Fatalf("the recorded run wrote no cassette: %v", err)
	}
	if bytes.Contains(data, []byte(sim.APIKey)) {
		t.Fatal("the cassette holds the API key")
	}
	writes := e.sim.Recorder().Writes()
	if writes == 0 {
		t.Fatal("the recorded onboard sent no write: it should have created the token")
	}
	e.srv.Close() // no simulator from here on

	replayed, err := e.run("onboard.star", "a-different-api-key", func(o *engine.Options) {
		o.Replay, o.Store = cassette, store.NewMemory(nil)
	})
	if err != nil {
		t.Fatalf("replay onboard without the simulator: %v", err)
	}
	if a, b := outputs(recorded), outputs(replayed); a["id"] == nil || a["id"] != b["id"] {
		t.Fatalf("replay outputs %v, recorded %v: want the same id", b, a)
	}
	if e.sim.Recorder().Writes() != writes {
		t.Fatal("the replay reached the simulator")
	}

	// A request the cassette does not hold fails; a replay never falls back to the network.
	_, err = e.run("onboard.star", sim.APIKey, func(o *engine.Options) {
		o.Replay, o.Store = cassette, store.NewMemory(nil)
		o.Vars["name"] = "someone-else"
	})
	if err == nil || !strings.Contains(err.Error(), "no recorded exchange") {
		t.Fatalf("a replay of an unrecorded request: %v, want a replay miss", err)
	}
}

func outputs(res *engine.Result) map[string]any {
	out := map[string]any{}
	for _, o := range res.Outputs {
		out[o.Name] = o.Value
	}
	return out
}
