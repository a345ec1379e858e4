package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/internal/cli"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/simulators"
	bigipsim "github.com/tokenflow/tokenflow/plugins/bigip/sim"
	hxsim "github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
)

// TestRevokeRunAcrossVendors issues a BIG-IP token and a HyperFlex token
// pair in two runs, then revokes what each run issued.
func TestRevokeRunAcrossVendors(t *testing.T) {
	dir := t.TempDir()
	set, err := simulators.Start([]string{"bigip", "hyperflex"}, true, filepath.Join(dir, "sim"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	t.Setenv("TOKENFLOW_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("BIGIP_PASSWORD", bigipsim.DefaultPassword)
	t.Setenv("HX_PASSWORD", hxsim.DefaultPassword)
	plugins := flowtest.Plugins(t, "bigip", "hyperflex")
	flows := filepath.Join(flowtest.RepoRoot(), "flows")
	bigip, hx := set.Get("bigip"), set.Get("hyperflex")

	run := func(want int, args ...string) string {
		t.Helper()
		streams, out, errOut := cli.TestStreams()
		if code := cli.Run(context.Background(), append([]string{"--plugin-dir", plugins}, args...), streams); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, want, out, errOut)
		}
		return out.String()
	}
	lastRun := func() string {
		var runs []struct{ ID string }
		json.Unmarshal([]byte(run(0, "runs", "--json", "--limit", "1")), &runs)
		return runs[0].ID
	}

	run(0, "run", filepath.Join(flows, "bigip", "session.star"), "--var", "url="+bigip.Server.URL, "--var", "ca_file="+set.CAFile, "--var", "username="+bigipsim.DefaultUser)
	bigipRun := lastRun()
	run(0, "run", filepath.Join(flows, "hyperflex", "token.star"), "--var", "url="+hx.Server.URL, "--var", "ca_file="+set.CAFile, "--var", "token_file="+filepath.Join(dir, "hx.xml"))
	hxRun := lastRun()

	b := bigip.Sim.(*bigipsim.Sim)
	before := len(b.Tokens(bigipsim.DefaultUser))
	// Without the flows (another directory), nothing can be revoked: that
	// is a failure, not a quiet "revoke it by hand".
	streams, out0, errOut0 := cli.TestStreams()
	if code := cli.Run(context.Background(), []string{"--plugin-dir", plugins, "revoke", "--run", bigipRun, "--flows", t.TempDir(), "--yes"}, streams); code != 1 || !strings.Contains(errOut0.String(), "were not revoked") {
		t.Fatalf("revoke without flows: exit %d, want 1\n%s\n%s", code, out0, errOut0)
	}
	// Without --yes and a terminal: the plan, in revoke's words.
	plan := run(2, "revoke", "--run", bigipRun, "--flows", flows, "--var", "ca_file="+set.CAFile, "--var", "username="+bigipsim.DefaultUser)
	if !strings.Contains(plan, "run again with --yes") || strings.Contains(plan, "--dry-run") {
		t.Fatalf("revoke plan:\n%s", plan)
	}
	if after := len(b.Tokens(bigipsim.DefaultUser)); after != before {
		t.Fatalf("a planned revocation changed the BIG-IP tokens: %d -> %d", before, after)
	}
	out := run(0, "revoke", "--run", bigipRun, "--flows", flows, "--yes", "--var", "ca_file="+set.CAFile, "--var", "username="+bigipsim.DefaultUser)
	if !strings.Contains(out, "would send: DELETE") || !strings.Contains(out, "revoked bigip/") {
		t.Fatalf("bigip revoke:\n%s", out)
	}
	if after := len(b.Tokens(bigipsim.DefaultUser)); after != before-1 {
		t.Fatalf("BIG-IP tokens %d -> %d, want one fewer", before, after)
	}

	h := hx.Sim.(*hxsim.Sim)
	sessions := h.Sessions()
	if len(sessions) != 1 || !h.AccessTokenValid(sessions[0].AccessToken, "READ") {
		t.Fatalf("want one live HyperFlex session before the revocation, have %d", len(sessions))
	}
	out = run(0, "revoke", "--run", hxRun, "--flows", flows, "--yes", "--var", "ca_file="+set.CAFile)
	if !strings.Contains(out, "would send: POST "+hx.Server.URL+"/aaa/v1/revoke") || !strings.Contains(out, "revoked hyperflex/") {
		t.Fatalf("hyperflex revoke:\n%s", out)
	}
	if h.AccessTokenValid(sessions[0].AccessToken, "READ") {
		t.Fatal("the HyperFlex access token is still valid after the revocation")
	}
}

// A run against a plain-http simulator (tokenflow sim --plain-http) is
// revoked with --allow-http, as it was run; without it the refusal names
// the flag and nothing is revoked.
func TestRevokeAllowHTTP(t *testing.T) {
	dir := t.TempDir()
	set, err := simulators.Start([]string{"bigip"}, false, filepath.Join(dir, "sim"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	t.Setenv("TOKENFLOW_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("BIGIP_PASSWORD", bigipsim.DefaultPassword)
	plugins := flowtest.Plugins(t, "bigip")
	flows := filepath.Join(flowtest.RepoRoot(), "flows")
	bigip := set.Get("bigip")
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		streams, out, errOut := cli.TestStreams()
		if code := cli.Run(context.Background(), append([]string{"--plugin-dir", plugins}, args...), streams); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, want, out, errOut)
		}
		return out.String(), errOut.String()
	}
	run(0, "run", filepath.Join(flows, "bigip", "session.star"), "--allow-http", "--var", "url="+bigip.Server.URL, "--var", "username="+bigipsim.DefaultUser)
	out, _ := run(0, "runs", "--json", "--limit", "1")
	var runs []struct{ ID string }
	json.Unmarshal([]byte(out), &runs)
	b := bigip.Sim.(*bigipsim.Sim)
	before := len(b.Tokens(bigipsim.DefaultUser))

	_, errOut := run(1, "revoke", "--run", runs[0].ID, "--flows", flows, "--yes", "--var", "username="+bigipsim.DefaultUser)
	if !strings.Contains(errOut, "--allow-http") {
		t.Errorf("revoke of an http:// target without --allow-http:\n%s", errOut)
	}
	if after := len(b.Tokens(bigipsim.DefaultUser)); after != before {
		t.Fatalf("a refused revocation changed the tokens: %d -> %d", before, after)
	}
	out, _ = run(0, "revoke", "--run", runs[0].ID, "--flows", flows, "--yes", "--allow-http", "--var", "username="+bigipsim.DefaultUser)
	if !strings.Contains(out, "revoked bigip/") || len(b.Tokens(bigipsim.DefaultUser)) != before-1 {
		t.Fatalf("revoke --allow-http:\n%s", out)
	}
}
