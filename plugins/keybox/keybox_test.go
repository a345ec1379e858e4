// Package keybox_test runs the reference Python plugin (python/) through the
// real engine against its Go simulator (sim/): the handshake with AutoMTLS,
// Describe, and a flow in dry-run and apply whose HTTP goes through the
// engine's Host service over the go-plugin broker.
package keybox_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/plugins/keybox/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// pluginDir links the Python plugin into a fresh plugin directory. CI
// installs its Debian packages with `make test-deps`
// (scripts/ensure-python-grpc.sh); without them the test fails saying so.
func pluginDir(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, cryptography").CombinedOutput(); err != nil {
		t.Fatalf("the Python plugin needs Debian's python3-grpcio, python3-protobuf and python3-cryptography (run scripts/ensure-python-grpc.sh): %v\n%s", err, out)
	}
	src, err := filepath.Abs(filepath.Join("python", "tokenflow-plugin-keybox"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(src, filepath.Join(dir, "tokenflow-plugin-keybox")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDescribe(t *testing.T) {
	m := pluginmgr.New(pluginmgr.Config{Dirs: []string{pluginDir(t)}})
	defer m.Close()
	inst := m.Installed()
	if len(inst) != 1 || inst[0].Vendor != "keybox" {
		t.Fatalf("installed = %+v", inst)
	}
	p, err := m.Get(context.Background(), "keybox")
	if err != nil {
		t.Fatal(err)
	}
	s := p.Schema()
	if s.Name != "keybox" || s.Version != "0.1.0" || len(s.Ops) != 2 {
		t.Fatalf("schema = %+v", s)
	}
	op := s.Op("create_token")
	if op == nil || op.Effect.String() != "write" || op.Signature() != "keybox.create_token(name: string, ttl_hours: int = 720) -> id, token, expires_at" {
		t.Fatalf("create_token = %+v (%s)", op, op.Signature())
	}
	var secret bool
	for _, f := range op.Results {
		secret = secret || (f.Name == "token" && f.Secret)
	}
	if !secret {
		t.Errorf("create_token's token is not declared secret: %+v", op.Results)
	}
}

func TestFlowDryRunAndApply(t *testing.T) {
	dir := pluginDir(t)
	s := sim.New(simkit.NewRealClock())
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	run := func(dry bool) (*engine.Result, string) {
		t.Helper()
		var log strings.Builder
		res, err := engine.Run(context.Background(), filepath.Join("testdata", "onboard.star"), engine.Options{
			DryRun: dry, PluginDirs: []string{dir}, Log: &log,
			Vars: map[string]string{"url": srv.URL, "ca_file": caFile, "name": "ci-bot"},
			Getenv: func(k string) (string, bool) {
				if k == "KEYBOX_API_KEY" {
					return sim.APIKey, true
				}
				return "", false
			},
		})
		if err != nil {
			t.Fatalf("run (dry-run %v): %v\nlog:\n%s", dry, err, log.String())
		}
		return res, log.String()
	}

	// Dry-run: the read is sent, the write is held.
	res, _ := run(true)
	if res.Plan == nil || res.Pending() != 1 {
		t.Fatalf("dry-run: want one pending change, got plan %+v", res.Plan)
	}
	var plan strings.Builder
	res.Plan.WriteText(&plan, redact.New())
	if !strings.Contains(plan.String(), "keybox.create_token") || !strings.Contains(plan.String(), "POST") {
		t.Errorf("plan lacks the held POST:\n%s", plan.String())
	}
	if n := s.Recorder().Writes(); n != 0 || len(s.Names()) != 0 {
		t.Fatalf("dry-run reached the vendor with %d write(s), tokens %v", n, s.Names())
	}
	if s.Recorder().Count("GET", "/api/v1/tokens") != 1 {
		t.Errorf("dry-run sent %d GET, want 1", s.Recorder().Count("GET", "/api/v1/tokens"))
	}

	// Apply creates the token; its secret never reaches the log.
	res, log := run(false)
	if got := s.Names(); len(got) != 1 || got[0] != "ci-bot" {
		t.Fatalf("apply: tokens = %v", got)
	}
	outs := map[string]any{}
	for _, o := range res.Outputs {
		outs[o.Name] = o.Value
	}
	if id, _ := outs["id"].(string); id == "" {
		t.Errorf("apply: outputs = %v", outs)
	}
	if strings.Contains(log, "kbt_") {
		t.Errorf("the token's secret is in the run log:\n%s", log)
	}

	// A rerun finds it and writes nothing.
	before := s.Recorder().Writes()
	run(false)
	if s.Recorder().Writes() != before {
		t.Errorf("rerun sent a write")
	}
}
